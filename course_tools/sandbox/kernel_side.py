"""The kernel's end of the grader's calls: runs *inside* the student's sandboxed kernel.

The sandbox does not mount ``course_tools`` (it mounts the Python installation and
``course_lib`` only), so this module and :mod:`course_tools.sandbox.wire` are not imported
there: :func:`bootstrap` returns the statement the grader executes in the kernel, which holds
the two files' source text, runs each as a private module (``_course_grader_wire``,
``_course_grader_kernel``) and calls :func:`install`. The module imports nothing from
``course_tools`` (the codec comes in as the ``wire`` argument), so it runs the same in the
kernel and in the tests.

Untrusted side: whatever it sends is validated by the grader's :func:`wire.decode`.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path

#: the names the kernel's user namespace gets; a call is ``__course_grader_call('<json>')``
CALL, VJP = "__course_grader_call", "__course_grader_vjp"


#: what a from-scratch rule forbids, by the top-level name of the package
WATCHED = ("torch", "course_lib")
MAX_USES = 20


def tracer(own=None):
    """A profile hook that records calls into the watched packages (Python functions by their
    file, C functions by their module or their object's type) and ``sys.setprofile`` /
    ``settrace`` calls that would switch it off; returns ``(hook, used)``. Runs in the kernel:
    it imports nothing it watches. Events of the frame running the code object ``own`` (the
    grader's own call) are ignored."""
    import importlib.util
    import os

    folders = []
    for name in WATCHED:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for place in (spec.submodule_search_locations or []) if spec else []:
            folders.append((os.path.realpath(place) + os.sep, name))
            folders.append((place.rstrip(os.sep) + os.sep, name))
    used: list[str] = []

    def note(what: str) -> None:
        if what not in used and len(used) < MAX_USES:
            used.append(what)

    def watched(module) -> bool:
        return isinstance(module, str) and module.split(".")[0] in WATCHED

    def hook(frame, event, arg):
        if frame.f_code is own:
            return
        if event == "call":
            filename = frame.f_code.co_filename
            for folder, name in folders:
                if filename.startswith(folder):
                    rel = filename[len(folder):].rsplit(".", 1)[0].replace(os.sep, ".")
                    note(f"{name}.{rel}.{frame.f_code.co_name}".replace(".__init__.", "."))
                    break
        elif event == "c_call":
            module = getattr(arg, "__module__", None)
            owner = getattr(arg, "__self__", None)
            qualname = getattr(arg, "__qualname__", getattr(arg, "__name__", "?"))
            if module == "sys" and qualname in ("setprofile", "settrace"):
                note(f"sys.{qualname} (switches the grader's trace off)")
            elif watched(module):
                note(f"{module}.{qualname.split('.')[-1]}")
            elif owner is not None and watched(type(owner).__module__):
                note(f"{type(owner).__module__}.{qualname}")

    return hook, used


def install(user_ns: dict, wire, publish=None):
    """Return the kernel's ``(call, vjp)`` request handlers, which find the student's functions
    in ``user_ns`` and answer through ``publish(dict)`` (by default: display data of type
    ``wire.MIME``, which the grader picks up)."""
    import sys

    if publish is None:
        from IPython.display import publish_display_data

        def publish(obj):
            publish_display_data({wire.MIME: json.dumps(obj)})

    refs: dict = {}
    calls: dict = {}
    current = [((), {})]  # the arguments of the call in progress

    def enc(x):
        return wire.encode(x, refs=refs)

    def dec(x):
        return wire.decode(x, refs=refs, callback=callback)

    def callback(cid):
        def call_grader(*args, **kwargs):
            call_args, call_kwargs = current[0]
            request = json.dumps({"callback": cid, "args": enc(tuple(args)),
                                  "kwargs": enc(dict(kwargs)),
                                  "state": [enc(tuple(call_args)), enc(dict(call_kwargs))]})
            reply = json.loads(builtins.input(wire.CALLBACK_PREFIX + request))
            if "error" in reply:
                raise RuntimeError(reply["error"])
            return dec(reply["result"])
        return call_grader

    def grad_inputs(args, kwargs) -> list:
        torch = sys.modules.get("torch")
        if torch is None:
            return []
        return [a for a in list(args) + list(kwargs.values())
                if isinstance(a, torch.Tensor) and a.requires_grad]

    def call(request: str) -> None:
        request = json.loads(request)
        args, kwargs = dec(request["args"]), dec(request["kwargs"])
        name = request["fn"]
        fn = user_ns[name] if name in user_ns else getattr(builtins, name, None)
        if fn is None:
            publish({"missing": name})
            return
        current[0] = (args, kwargs)  # a callback shows the grader their current state
        hook, used = tracer(call.__code__) if request.get("trace") else (None, [])
        try:
            if hook is not None:
                sys.setprofile(hook)
            try:
                out = fn(*args, **kwargs)
            finally:
                if hook is not None:
                    if sys.getprofile() is not hook:
                        used.append("the grader's trace was switched off during the call")
                    sys.setprofile(None)
        except BaseException as exc:
            publish({"raised": type(exc).__name__, "message": str(exc)[:500], "used": used})
            return
        calls[request["id"]] = (out, grad_inputs(args, kwargs))
        publish({"result": enc(out), "args": enc(tuple(args)), "kwargs": enc(dict(kwargs)),
                 "used": used})

    def vjp(request: str) -> None:
        import torch

        request = json.loads(request)
        out, grad_ins = calls[request["id"]]
        flat: list = []

        def leaves(x):
            if isinstance(x, torch.Tensor):
                flat.append(x)
            elif type(x) in (tuple, list):
                for v in x:
                    leaves(v)

        leaves(out)
        pairs = [(o, g) for o, g in zip(flat, dec(request["grads"]), strict=False)
                 if g is not None and o.requires_grad]
        grads = [None] * len(grad_ins)
        if pairs and grad_ins:
            grads = list(torch.autograd.grad([o for o, _ in pairs], grad_ins,
                                             [g.to(o.dtype) for o, g in pairs],
                                             allow_unused=True, retain_graph=True))
        publish({"result": enc(grads)})

    return call, vjp


def _boot(wire_source: str, kernel_source: str, user_ns: dict) -> None:
    """Run in the kernel (its source is sent with :func:`bootstrap`): load the two modules from
    their text and put the request handlers into the user namespace."""
    import sys
    import types

    modules = []
    for name, source in (("_course_grader_wire", wire_source),
                         ("_course_grader_kernel", kernel_source)):
        module = types.ModuleType(name)
        sys.modules[name] = module  # dataclasses look their module up
        exec(compile(source, f"<course grader: {name}>", "exec"), module.__dict__)  # noqa: S102
        modules.append(module)
    wire, kernel = modules
    user_ns[kernel.CALL], user_ns[kernel.VJP] = kernel.install(user_ns, wire)


def bootstrap() -> str:
    """The statement that installs the handlers in a kernel: :func:`_boot` and the source of
    this module and of :mod:`course_tools.sandbox.wire`, as literals."""
    import inspect

    from course_tools.sandbox import wire

    sources = (Path(wire.__file__).read_text(encoding="utf-8"),
               Path(__file__).read_text(encoding="utf-8"))
    name = "__course_grader_boot"
    boot = inspect.getsource(_boot).replace("def _boot(", f"def {name}(", 1)
    return f"{boot}\n{name}({sources[0]!r}, {sources[1]!r}, globals())\ndel {name}\n"
