"""From-scratch NumPy layers of the labs against torch's CPU autograd, same float64 sizes.

Each item times one forward and one backward pass (where the lab has a backward pass) over a
batch of N = 32 sequences of T = 50 steps with D = H = 64, with the lab's own reference
solution (loaded from the master notebook) and with torch (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``
and the attention equations in torch ops), alternately, so both see the same machine state.
Both sides use one thread: run this module through :func:`run` (it sets the BLAS thread
variables before NumPy loads) and torch gets ``torch.set_num_threads(1)``.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/layers.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

N, T, D, H = 32, 50, 64, 64
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _time(fn, inner: int = 3) -> float:
    """Mean seconds of one call over ``inner`` calls."""
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def _load(module, U, W, b_ih, b_hh=None):
    """Give a torch recurrent layer the NumPy weights, so both sides compute the same thing."""
    import numpy as np
    import torch

    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(U))
        module.weight_hh_l0.copy_(torch.tensor(W))
        module.bias_ih_l0.copy_(torch.tensor(b_ih))
        module.bias_hh_l0.copy_(torch.tensor(np.zeros_like(b_ih) if b_hh is None else b_hh))
    return module


def cases():
    """``{name: (numpy_fn, torch_fn, what)}``: closures over fixed random inputs."""
    import numpy as np
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from labcode import lab_functions

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    c0 = rng.normal(size=(N, H))
    dh = rng.normal(size=(N, T, H))
    out: dict = {}

    # --- tanh RNN: chapter 4's rnn_forward (given) and rnn_backward (the exercise)
    ch04 = lab_functions("ch04")
    U, W, b = 0.1 * rng.normal(size=(H, D)), 0.1 * rng.normal(size=(H, H)), rng.normal(size=H)

    def rnn_numpy():
        h, cache = ch04["rnn_forward"](x, h0, U, W, b)
        return ch04["rnn_backward"](dh, cache)

    rnn = _load(torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64), U, W, b)
    tx = torch.tensor(x, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    tdh = torch.tensor(dh)

    def forward_backward(layer):
        """torch's side for a layer called as ``layer(x, h0)``: forward, then h.backward(dh)."""

        def run():
            layer.zero_grad()
            tx.grad = th0.grad = None
            h, _ = layer(tx, th0)
            h.backward(tdh)

        return run

    out["RNN (ch04 rnn_forward + rnn_backward) vs nn.RNN"] = (rnn_numpy, forward_backward(rnn),
                                                              "forward + backward")

    # --- LSTM: chapter 7's lstm_forward, and BPTT through its lstm_step_backward
    ch07 = lab_functions("ch07")
    U4, W4, b4 = (0.1 * rng.normal(size=(4 * H, D)), 0.1 * rng.normal(size=(4 * H, H)),
                  rng.normal(size=4 * H))

    def lstm_numpy():
        h, c, caches = ch07["lstm_forward"](x, h0, c0, U4, W4, b4)
        step_backward = ch07["lstm_step_backward"]
        dx = np.empty_like(x)
        dU, dW, db = np.zeros_like(U4), np.zeros_like(W4), np.zeros_like(b4)
        dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
        for t in reversed(range(T)):
            dx[:, t], dh_next, dc_next, dU_t, dW_t, db_t = step_backward(
                dh[:, t] + dh_next, dc_next, caches[t])
            dU += dU_t
            dW += dW_t
            db += db_t
        return dx, dh_next, dc_next, dU, dW, db

    lstm = _load(torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64), U4, W4, b4)
    tc0 = torch.tensor(c0[None], requires_grad=True)

    def lstm_torch():
        lstm.zero_grad()
        tx.grad = th0.grad = tc0.grad = None
        h, _ = lstm(tx, (th0, tc0))
        h.backward(tdh)

    out["LSTM (ch07 lstm_forward + lstm_step_backward through time) vs nn.LSTM"] = (
        lstm_numpy, lstm_torch, "forward + backward")

    # --- GRU: chapter 7's gru_forward (all input projections before the loop) and gru_backward
    U3, W3 = 0.1 * rng.normal(size=(3 * H, D)), 0.1 * rng.normal(size=(3 * H, H))
    bx, bh = rng.normal(size=3 * H), rng.normal(size=3 * H)

    def gru_numpy():
        h, cache = ch07["gru_forward"](x, h0, U3, W3, bx, bh)
        return ch07["gru_backward"](dh, cache)

    gru = _load(torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64), U3, W3, bx, bh)
    out["GRU (ch07 gru_forward + gru_backward) vs nn.GRU"] = (gru_numpy, forward_backward(gru),
                                                            "forward + backward")

    # --- attention: chapter 11's scores for T decoder steps over T encoder states
    ch11 = lab_functions("ch11")
    A = H
    hs_enc = rng.normal(size=(N, T, H))
    queries = rng.normal(size=(T, N, H))
    mask = np.ones((N, T), dtype=bool)
    mask[: N // 2, T - 10:] = False
    Ws, Wh, v = 0.1 * rng.normal(size=(A, H)), 0.1 * rng.normal(size=(A, H)), rng.normal(size=A)
    t_h, t_q, t_mask = torch.tensor(hs_enc), torch.tensor(queries), torch.tensor(mask)
    t_Ws, t_Wh, t_v = torch.tensor(Ws), torch.tensor(Wh), torch.tensor(v)

    def dot_numpy():
        return [ch11["dot_product_attention"](q, hs_enc, mask, scaled=True) for q in queries]

    def dot_step_torch(q, keys):
        """Scaled dot-product attention of one decoder step in torch ops: (r, a, c)."""
        r = torch.einsum("nth,nh->nt", keys, q) / H ** 0.5
        a = torch.softmax(r.masked_fill(~t_mask, float("-inf")), -1)
        return r, a, torch.einsum("nt,nth->nh", a, keys)

    def dot_torch():
        with torch.no_grad():
            return [dot_step_torch(q, t_h) for q in t_q]

    # with chapter 11's backward pass: every decoder step attends over the same encoder states,
    # so their gradients add up over the steps (torch: one backward of sum_t sum(c_t * dc_t))
    dcs = rng.normal(size=(T, N, H))
    t_hg, t_qg = torch.tensor(hs_enc, requires_grad=True), torch.tensor(queries, requires_grad=True)
    t_dcs = torch.tensor(dcs)

    def dot_backward_numpy():
        forward, backward = ch11["dot_product_attention"], ch11["dot_product_attention_backward"]
        dqueries, dh_enc = np.empty_like(queries), np.zeros_like(hs_enc)
        for k, q in enumerate(queries):
            _, a, _ = forward(q, hs_enc, mask, scaled=True)
            dqueries[k], dh = backward(dcs[k], q, hs_enc, a, scaled=True)
            dh_enc += dh
        return dqueries, dh_enc

    def dot_backward_torch():
        t_hg.grad = t_qg.grad = None
        contexts = torch.stack([dot_step_torch(q, t_hg)[2] for q in t_qg])
        (contexts * t_dcs).sum().backward()

    def add_numpy():
        return [ch11["additive_attention"](q, hs_enc, Ws, Wh, v, mask) for q in queries]

    def add_torch():
        with torch.no_grad():
            res = []
            for q in t_q:
                e = torch.tanh((q @ t_Ws.T)[:, None, :] + t_h @ t_Wh.T)
                r = e @ t_v
                a = torch.softmax(r.masked_fill(~t_mask, float("-inf")), -1)
                res.append((r, a, torch.einsum("nt,nth->nh", a, t_h)))
            return res

    out["dot-product attention (ch11, T decoder steps) vs torch ops"] = (
        dot_numpy, dot_torch, "forward only")
    out["dot-product attention (ch11 dot_product_attention + dot_product_attention_backward, "
        "T decoder steps) vs torch autograd"] = (dot_backward_numpy, dot_backward_torch,
                                                 "forward + backward")
    out["additive attention (ch11, T decoder steps) vs torch ops"] = (
        add_numpy, add_torch, "forward only")
    return out


def measure(repeat: int = 7) -> list[dict]:
    """Median seconds of each NumPy layer and its torch reference, measured alternately."""
    import statistics

    rows = []
    for name, (np_fn, torch_fn, what) in cases().items():
        np_fn(), torch_fn()  # warm-up
        np_runs, torch_runs = [], []
        for _ in range(repeat):  # alternate so drifts of the machine hit both sides alike
            np_runs.append(_time(np_fn))
            torch_runs.append(_time(torch_fn))
        rows.append({"item": name, "what": what, "numpy": statistics.median(np_runs),
                     "torch": statistics.median(torch_runs)})
    return rows


def run(repeat: int = 7) -> list[dict]:
    """:func:`measure` in a fresh interpreter with one BLAS thread (set before NumPy loads)."""
    env = dict(os.environ, **{var: "1" for var in THREAD_VARS})
    proc = subprocess.run([sys.executable, __file__, str(repeat)], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"layers benchmark failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
