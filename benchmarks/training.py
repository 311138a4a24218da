"""Training benchmarks: the course's loop against a bare torch loop, and time to a target.

Run through :func:`run` (a fresh interpreter, torch with one thread as in the labs).

    python benchmarks/training.py loops|adding|seq2seq|charlm
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _adding_model(H: int = 32):
    from torch import nn

    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(2, H, batch_first=True)
            self.out = nn.Linear(H, 1)

        def forward(self, x):
            return self.out(self.rnn(x)[0][:, -1]).squeeze(-1)

    return LastStep()


def loops(repeat: int = 5, updates: int = 60) -> dict:
    """``course_lib.train.fit`` + ``torch_step`` against the same updates written as a bare
    torch loop: an LSTM (H = 32) on the adding problem (T = 100), batches of 64, Adam, norm
    clipping; the two alternate ``repeat`` times, each from the same initial weights."""
    import torch
    from torch import nn

    from course_lib import data, set_seed, train

    torch.set_default_dtype(torch.float32)
    X, y = (torch.tensor(a) for a in data.adding_problem(64 * updates, 100, seed=1))
    set_seed(0)
    model = _adding_model()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    order = np.arange(len(X)).reshape(updates, 64)

    def course():
        model.load_state_dict(start)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        step = train.torch_step(model, nn.MSELoss(), opt, clip=1.0)
        t0 = time.perf_counter()
        train.fit(step, lambda epoch: ((X[i], y[i]) for i in order), epochs=1,
                  show_progress=False)
        return time.perf_counter() - t0

    def bare():
        model.load_state_dict(start)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        loss_fn = nn.MSELoss()
        t0 = time.perf_counter()
        for i in order:
            model.train()
            opt.zero_grad()
            loss = loss_fn(model(X[i]), y[i])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()
        return time.perf_counter() - t0

    course(), bare()  # warm-up
    c, b = [], []
    for _ in range(repeat):
        c.append(course())
        b.append(bare())
    return {"course": statistics.median(c), "bare": statistics.median(b), "updates": updates}


def adding(target: float = 0.01, max_updates: int = 3000, every: int = 25) -> dict:
    """Seconds until an LSTM (H = 32) reaches test MSE < ``target`` on the adding problem with
    T = 100 (chapter 7's set-up: 6400 training and 500 test sequences, batches of 64, Adam
    0.01, clipping at 1), evaluating every ``every`` updates; the evaluations are timed too."""
    import torch
    from torch import nn

    from course_lib import data, set_seed, train

    torch.set_default_dtype(torch.float32)
    X_tr, y_tr = (torch.tensor(a) for a in data.adding_problem(6400, 100, seed=1))
    X_te, y_te = (torch.tensor(a) for a in data.adding_problem(500, 100, seed=2))
    rng = set_seed(0)
    model = _adding_model()
    step = train.torch_step(model, nn.MSELoss(), torch.optim.Adam(model.parameters(), lr=0.01),
                            clip=1.0)
    t0 = time.perf_counter()
    updates, mse = 0, float("inf")
    while updates < max_updates and mse >= target:
        idx = rng.permutation(len(X_tr))[: every * 64].reshape(every, 64)
        train.fit(step, lambda epoch, idx=idx: ((X_tr[i], y_tr[i]) for i in idx), epochs=1,
                  show_progress=False)
        updates += every
        model.eval()
        with torch.no_grad():
            mse = nn.functional.mse_loss(model(X_te), y_te).item()
    return {"seconds": time.perf_counter() - t0, "updates": updates, "value": mse,
            "reached": mse < target}


def seq2seq(target: float = 0.99, epochs: int = 5) -> dict:
    """Seconds until ``course_lib.models.seq2seq`` with dot-product attention (chapter 11's model and
    training: H = 64, 20 000 sentences of 3 to 12 words from ``data.toy_translation``, batches
    of 128, Adam 5e-3) first reaches ``target`` exact match on 2000 held-out sentences, checked
    after each pass (the checks are timed too)."""
    from course_lib import data, set_seed
    from course_lib.models import seq2seq

    src, tgt, sv, tv = data.toy_translation(20000, 3, 12, seed=1)
    test_src, test_tgt, _, _ = data.toy_translation(2000, 3, 12, seed=3)
    set_seed(0)
    model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=64, attention="dot")
    stamps = []

    def evaluate():
        pred, _ = model.greedy(test_src, test_tgt.shape[1])
        match = float(seq2seq.exact_match(pred, test_tgt).mean())
        stamps.append((time.perf_counter(), match))
        return {"exact match": match}

    t0 = time.perf_counter()
    seq2seq.train_seq2seq(model, src, tgt, epochs=epochs, batch_size=128, lr=5e-3,
                          evaluate=evaluate)
    hits = [i for i, (_, m) in enumerate(stamps) if m >= target]
    i = hits[0] if hits else len(stamps) - 1
    return {"seconds": stamps[i][0] - t0, "epochs": i + 1, "value": stamps[i][1],
            "reached": bool(hits)}


def charlm(target_bpc: float = 0.5, max_epochs: int = 40) -> dict:
    """Seconds until chapter 9's character LSTM (H = 96, windows of 64, Adam 0.01, batches of
    32, on ``data.bracket_text``) is under ``target_bpc`` bits per character on its test text
    (the page states "well under half a bit"), checked after each pass."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from course_lib import data, set_seed, train

    train_text = data.bracket_text(1200, seed=0)
    test_text = data.bracket_text(200, seed=1)
    chars = sorted(set(train_text))
    K = len(chars)
    char_id = {c: i for i, c in enumerate(chars)}
    train_ids = torch.tensor([char_id[c] for c in train_text])
    test_ids = torch.tensor([char_id[c] for c in test_text])
    n = (len(train_ids) - 1) // 64
    X, Y = train_ids[: n * 64].view(n, 64), train_ids[1: n * 64 + 1].view(n, 64)

    class CharLM(nn.Module):
        def __init__(self, H=96, E=16):
            super().__init__()
            self.embed = nn.Embedding(K, E)
            self.rnn = nn.LSTM(E, H, batch_first=True)
            self.out = nn.Linear(H, K)

        def forward(self, x):
            return self.out(self.rnn(self.embed(x))[0])

    rng = set_seed(0)
    lm = CharLM()
    step = train.torch_step(lm, lambda out, y: F.cross_entropy(out.reshape(-1, K), y.reshape(-1)),
                            torch.optim.Adam(lm.parameters(), lr=1e-2), clip=1.0)
    t0 = time.perf_counter()
    epochs, bpc = 0, float("inf")
    while epochs < max_epochs and bpc >= target_bpc:
        train.fit(step, lambda epoch: train.minibatches((X, Y), 32, rng), epochs=1,
                  show_progress=False)
        epochs += 1
        lm.eval()
        with torch.no_grad():
            nats = F.cross_entropy(lm(test_ids[:-1].unsqueeze(0))[0], test_ids[1:]).item()
        bpc = float(nats / np.log(2))
    return {"seconds": time.perf_counter() - t0, "epochs": epochs, "value": bpc,
            "reached": bpc < target_bpc}


def run(call: str) -> dict:
    """One benchmark of this module, e.g. ``run("loops(repeat=5)")``, in a fresh interpreter
    (torch with one thread)."""
    here = str(Path(__file__).resolve().parent)
    code = (f"import sys, json, torch; torch.set_num_threads(1); sys.path.insert(0, {here!r}); "
            f"import training; print(json.dumps(training.{call}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"training benchmark {call} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(run(sys.argv[1] + "()"))
