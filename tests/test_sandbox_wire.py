"""The sandbox's wire format and the kernel's end of the calls, in one process (no sandbox):
the same codec serves both sides; the kernel side answers calls, callbacks and gradients."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from course_tools.sandbox import kernel_side, wire


def _kernel(user_ns: dict):
    sent: list = []
    call, vjp = kernel_side.install(user_ns, wire, publish=sent.append)
    return call, vjp, sent


def _request(**fields) -> str:
    return json.dumps(fields)


def test_a_call_returns_the_result_and_the_arguments_changed_in_place():
    def fill(a, value=1.0):
        a[...] = value
        return a.sum(), object()

    call, _, sent = _kernel({"fill": fill})
    x = np.zeros(3)
    call(_request(fn="fill", id=1, args=wire.encode((x,)), kwargs=wire.encode({"value": 2.0})))
    reply = json.loads(json.dumps(sent[-1]))
    total, ref = wire.decode(reply["result"])
    assert total == 6.0 and isinstance(ref, wire.RemoteRef) and ref.type_name == "object"
    (changed,) = wire.decode(reply["args"])
    assert np.array_equal(changed, [2.0, 2.0, 2.0])


def test_missing_functions_and_raised_exceptions_are_reported():
    def broken():
        raise NotImplementedError("not yet")

    call, _, sent = _kernel({"broken": broken})
    call(_request(fn="no_such_function", id=1, args=wire.encode(()), kwargs=wire.encode({})))
    assert sent[-1] == {"missing": "no_such_function"}
    call(_request(fn="broken", id=2, args=wire.encode(()), kwargs=wire.encode({})))
    assert sent[-1] == {"raised": "NotImplementedError", "message": "not yet", "used": []}


def test_a_traced_call_reports_torch_and_a_switched_off_trace_but_not_numpy():
    import numpy as np
    import torch

    def plain(x):
        return np.tanh(x) @ x.T, np.einsum("ij,ij->i", x, x)

    def with_torch(x):
        return torch.tanh(torch.from_numpy(x)).numpy()

    def hider(x):
        sys.setprofile(None)
        return torch.as_tensor(x).numpy()

    call, _, sent = _kernel({"plain": plain, "with_torch": with_torch, "hider": hider})
    for i, name in enumerate(("plain", "with_torch", "hider")):
        call(_request(fn=name, id=i, args=wire.encode((np.ones((2, 2)),)),
                      kwargs=wire.encode({}), trace=True))
        sent[-1]["name"] = name
    plain_used, torch_used, hider_used = (s["used"] for s in sent[-3:])
    assert plain_used == []
    assert "torch.tanh" in torch_used and "torch.from_numpy" in torch_used
    assert any("switched off" in u for u in hider_used)


def test_callbacks_ask_the_grader_through_input(monkeypatch):
    asked = []

    def fake_input(prompt):
        assert prompt.startswith(wire.CALLBACK_PREFIX)
        asked.append(json.loads(prompt[len(wire.CALLBACK_PREFIX):]))
        return json.dumps({"result": wire.encode(41)})

    monkeypatch.setattr("builtins.input", fake_input)
    call, _, sent = _kernel({"apply": lambda f, x: f(x) + 1})
    callbacks: dict = {}
    args = wire.encode((lambda v: v, 5), callbacks)
    call(_request(fn="apply", id=1, args=args, kwargs=wire.encode({})))
    assert wire.decode(sent[-1]["result"]) == 42
    assert asked[0]["callback"] == 1 and list(callbacks) == [1]


def test_gradients_flow_back_through_the_kernels_graph():
    call, vjp, sent = _kernel({"square": lambda t: (t * t).sum()})
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    call(_request(fn="square", id=7, args=wire.encode((x,)), kwargs=wire.encode({})))
    assert float(wire.decode(sent[-1]["result"])) == 5.0
    vjp(_request(id=7, grads=wire.encode([torch.tensor(1.0, dtype=torch.float64)])))
    (grad,) = wire.decode(sent[-1]["result"])
    assert torch.equal(grad, torch.tensor([2.0, 4.0], dtype=torch.float64))


def test_the_kernel_keeps_what_the_wire_cannot_carry_the_grader_refuses_it():
    refs: dict = {}
    assert wire.encode(np.array([object()]), refs=refs)["type"] == "ndarray"
    with pytest.raises(TypeError):
        wire.encode(np.array([object()]))
    assert wire.decode({"__ref__": 1}, refs=refs) is refs[1]
    with pytest.raises(wire.WireError):
        wire.decode({"__callback__": 1})  # the grader never takes callbacks from the kernel


def test_the_bootstrap_installs_the_handlers_from_the_modules_source():
    ns: dict = {}
    exec(kernel_side.bootstrap(), ns)  # noqa: S102 - what the grader runs in the kernel
    assert callable(ns[kernel_side.CALL]) and callable(ns[kernel_side.VJP])
    assert "__course_grader_boot" not in ns
