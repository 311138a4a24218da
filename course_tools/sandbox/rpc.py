"""Calling the student's functions from the grader: proxies that send copies of the arguments
to the kernel (:mod:`course_tools.sandbox.wire`), take back validated plain data, copy in-place
changes back and make returned tensors differentiable through the kernel's own graph."""

from __future__ import annotations

import json
import time

import numpy as np

from course_tools.sandbox import kernel_side
from course_tools.sandbox.errors import (
    BUILTIN_ERRORS,
    BudgetExhausted,
    CallTimeout,
    KernelDied,
    StudentCodeError,
)
from course_tools.sandbox.kernel import SandboxKernel
from course_tools.sandbox.wire import CALLBACK_PREFIX, MAX_REPLY_BYTES, WireError, decode, encode


def _mutable(x) -> bool:
    import torch

    return isinstance(x, np.ndarray | list | dict | tuple | torch.Tensor | np.random.Generator)


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def write_back(original, new) -> None:
    """Copy what the student's function did in place to its (copied) arguments back into the
    grader's objects, so that in-place changes are seen (and judged) as in Jupyter."""
    import torch

    if isinstance(original, torch.Tensor) and isinstance(new, torch.Tensor):
        if new.shape == original.shape and not torch.equal(new.to(original.dtype), original):
            with torch.no_grad():
                original.copy_(new.to(original.dtype))
    elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if new.shape == original.shape and original.flags.writeable and \
                not np.array_equal(new, original):
            original[...] = new.astype(original.dtype, copy=False)
    elif isinstance(original, list) and isinstance(new, list):
        if len(original) != len(new):
            original[:] = new
            return
        for i, (o, n) in enumerate(zip(original, new, strict=True)):
            if _mutable(o) and type(o) is type(n):
                write_back(o, n)
            elif not _same(o, n):
                original[i] = n
    elif isinstance(original, dict) and isinstance(new, dict):
        for k in [k for k in original if k not in new]:
            del original[k]
        for k, n in new.items():
            if k in original and _mutable(original[k]) and type(original[k]) is type(n):
                write_back(original[k], n)
            elif k not in original or not _same(original[k], n):
                original[k] = n
    elif isinstance(original, tuple) and isinstance(new, tuple) and len(original) == len(new):
        for o, n in zip(original, new, strict=True):
            if _mutable(o):
                write_back(o, n)
    elif isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state



class KernelFunctions:
    """Proxies for functions defined in a :class:`SandboxKernel`: ``proxy(name)(*args)`` sends
    copies of the arguments to the kernel, runs the student's function there and returns its
    result as plain (validated) data. Trusted code (the checks) then compares it with the
    expected values in the grader's own process, with the grader's own numpy and torch."""

    def __init__(self, kernel: SandboxKernel, call_timeout: float = 60):
        self.kernel = kernel
        self.call_timeout = call_timeout
        self._ids = 0
        self._callbacks: dict[int, object] = {}
        self.installed = False
        self.calls = 0
        self._current: tuple | None = None  # the arguments of the call in progress
        self.deadline: float | None = None  # time.monotonic() when the budget runs out
        self.trace = False      # record what the calls use (kernel_side.tracer)
        self.used: list[str] = []  # what they used since the last reset (the kernel's word)
        self.exhausted = False  # the budget ran out (even if a check swallowed the error)

    def install(self) -> None:
        outcome = self.kernel.execute(kernel_side.bootstrap(), timeout=30)
        if outcome.status != "ok":
            raise KernelDied(f"the grader's helper could not be installed in the kernel "
                             f"({outcome.status} {outcome.error})")
        self.installed = True

    def _stdin(self, prompt: str) -> str:
        """Answer a callback request from the kernel (a callable the grader passed in)."""
        if not prompt.startswith(CALLBACK_PREFIX) or len(prompt) > MAX_REPLY_BYTES:
            return json.dumps({"error": "input() is not available while grading"})
        try:
            request = json.loads(prompt[len(CALLBACK_PREFIX):])
            fn = self._callbacks[request["callback"]]
            self._sync(request.get("state"))  # e.g. a closure reading an array the student
            args = decode(request["args"])     # changes in place before calling back
            kwargs = decode(request["kwargs"])
            if not isinstance(args, tuple) or not isinstance(kwargs, dict) or \
                    not all(isinstance(k, str) for k in kwargs):
                raise WireError("malformed callback arguments")
            return json.dumps({"result": encode(fn(*args, **kwargs))})
        except Exception as exc:
            return json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:300]}"})

    def _sync(self, state) -> None:
        if self._current is None or not isinstance(state, list) or len(state) != 2:
            return
        args, kwargs = self._current
        new_args, new_kwargs = decode(state[0]), decode(state[1])
        if isinstance(new_args, tuple) and len(new_args) == len(args):
            for original, new in zip(args, new_args, strict=True):
                write_back(original, new)
        if isinstance(new_kwargs, dict):
            for k, v in kwargs.items():
                if k in new_kwargs:
                    write_back(v, new_kwargs[k])

    def _request(self, code: str) -> dict:
        if not self.installed:
            self.install()
        timeout, grace = self.call_timeout, 10.0
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.exhausted = True
                raise BudgetExhausted("the submission's time budget ran out")
            if left < timeout:
                timeout, grace = left, 1.0
        outcome = self.kernel.execute(code, timeout=timeout, stdin_hook=self._stdin,
                                      grace=grace)
        if outcome.status == "timed out" and timeout < self.call_timeout:
            self.exhausted = True
            self.kernel.close_kernel()
            raise BudgetExhausted("the submission's time budget ran out during a call of "
                                  "your function")
        if outcome.status == "died" or not self.kernel.alive():
            raise KernelDied("the kernel died while running your function")
        if outcome.status == "timed out":
            raise CallTimeout(f"your function ran longer than {self.call_timeout:g} s")
        if outcome.status == "output too large":
            raise CallTimeout("your function printed too much and was stopped")
        if not outcome.payloads:
            raise WireError("no answer from the kernel" +
                            (f" ({outcome.error})" if outcome.error else ""))
        reply = json.loads(outcome.payloads[-1])
        if type(reply) is not dict:
            raise WireError("malformed answer")
        return reply

    def call(self, name: str, args: tuple, kwargs: dict):
        import torch

        self._ids += 1
        self.calls += 1
        call_id = self._ids
        request = json.dumps({"fn": name, "id": call_id,
                              "args": encode(tuple(args), self._callbacks),
                              "kwargs": encode(dict(kwargs), self._callbacks),
                              "trace": self.trace})
        self._current = (args, kwargs)
        try:
            reply = self._request(f"{kernel_side.CALL}({request!r})")
        finally:
            self._current = None
        used = reply.get("used")
        if self.trace and isinstance(used, list):
            for what in used[:kernel_side.MAX_USES + 1]:
                if isinstance(what, str) and what[:200] not in self.used:
                    self.used.append(what[:200])
        if "missing" in reply:
            raise NameError(f"name '{name}' is not defined in your notebook (was its cell "
                            "deleted, renamed or not run?)")
        if "raised" in reply:
            ename, message = str(reply["raised"])[:80], str(reply.get("message", ""))[:500]
            cls = BUILTIN_ERRORS.get(ename)
            if cls is not None:
                raise cls(message)
            raise StudentCodeError(f"{ename}: {message}")
        result = decode(reply.get("result"))
        self._current = (args, kwargs)
        try:
            self._sync([reply.get("args"), reply.get("kwargs")])
        finally:
            self._current = None
        grad_inputs = [a for a in list(args) + list(kwargs.values())
                       if isinstance(a, torch.Tensor) and a.requires_grad]
        if grad_inputs:
            result = self._attach_autograd(call_id, result, grad_inputs)
        return result

    def _attach_autograd(self, call_id: int, result, grad_inputs: list):
        """Make tensors returned by the kernel differentiable in the grader: their backward
        asks the kernel for the vector-Jacobian product of the student's own graph."""
        import torch

        leaves: list = []

        def collect(x):
            if isinstance(x, torch.Tensor):
                leaves.append(x)
            elif isinstance(x, tuple | list):
                for v in x:
                    collect(v)

        collect(result)
        if not leaves or not any(t.is_floating_point() for t in leaves):
            return result
        outs = _RemoteGraph.apply(self, call_id, len(leaves), *leaves, *grad_inputs)
        outs = list(outs) if isinstance(outs, tuple) else [outs]

        def rebuild(x):
            if isinstance(x, torch.Tensor):
                return outs.pop(0)
            if isinstance(x, tuple | list):
                return type(x)(rebuild(v) for v in x)
            return x

        return rebuild(result)

    def vjp(self, call_id: int, grads: list) -> list:
        request = json.dumps({"id": call_id, "grads": encode(grads)})
        reply = self._request(f"{kernel_side.VJP}({request!r})")
        if "raised" in reply:
            raise StudentCodeError(f"{reply['raised']}: {reply.get('message', '')}")
        out = decode(reply.get("result"))
        if not isinstance(out, list):
            raise WireError("malformed gradients")
        return out

    def proxy(self, name: str):
        functions = self

        def student_function(*args, **kwargs):
            return functions.call(name, args, kwargs)

        student_function.__name__ = student_function.__qualname__ = name
        return student_function


def _make_remote_graph():
    import torch

    class RemoteGraph(torch.autograd.Function):
        """Output tensors of a kernel call; backward = the kernel's vector-Jacobian product."""

        @staticmethod
        def forward(ctx, functions, call_id, n_out, *tensors):
            ctx.functions, ctx.call_id, ctx.n_out = functions, call_id, n_out
            ctx.shapes = [t.shape for t in tensors[n_out:]]
            ctx.dtypes = [t.dtype for t in tensors[n_out:]]
            outs = tuple(t.detach().clone() for t in tensors[:n_out])
            for t in outs:
                if not t.is_floating_point():
                    ctx.mark_non_differentiable(t)
            return outs if n_out > 1 else outs[0]

        @staticmethod
        def backward(ctx, *grad_outputs):
            grads = ctx.functions.vjp(ctx.call_id, [None if g is None else g.detach()
                                                    for g in grad_outputs])
            result = []
            for i, (shape, dtype) in enumerate(zip(ctx.shapes, ctx.dtypes, strict=True)):
                g = grads[i] if i < len(grads) else None
                if isinstance(g, torch.Tensor) and g.shape == shape:
                    result.append(g.to(dtype))
                else:
                    result.append(None)
            return (None, None, None, *([None] * ctx.n_out), *result)

    return RemoteGraph


class _LazyRemoteGraph:
    _cls = None

    def apply(self, *args):
        if _LazyRemoteGraph._cls is None:
            _LazyRemoteGraph._cls = _make_remote_graph()
        return _LazyRemoteGraph._cls.apply(*args)


_RemoteGraph = _LazyRemoteGraph()
