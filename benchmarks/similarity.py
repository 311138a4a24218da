"""A class of lab 3 submissions written independently, with planted copies, and the time of the
similarity report (:mod:`course_tools.grading.similarity`) for 300 of them.

    .venv/bin/python benchmarks/similarity.py [--n 300]     # prints the row
    .venv/bin/python benchmarks/run.py --only similarity     # the row in benchmarks/results/

How the independent submissions are made: each of lab 3's three exercises (``rnn_step_forward``,
``rnn_forward``, ``masked_sequence_loss``) is written from choice points, each with alternative
snippets that a student could have written: the algorithm (a loop over time or over steps kept
in a list, a loop over every sequence and step or a vectorised loss; one-hot, fancy indexing or
``take_along_axis`` to pick the targets), the decomposition (one expression or named
intermediate results, ``rnn_step_forward`` called or inlined), the NumPy spelling (``@``,
``np.dot``, ``einsum``, ``matmul``), the order of terms, the layout of the cache, the names of
the variables (from pools of names) and the comments. Some choices are wrong in small ways (a
softmax without the max subtracted, a gradient not divided by N): half-correct work. No two
submissions make the same choices for an exercise (drawn without repetition).

Planted copies (:func:`planted_copies`) re-render one submission with the same choices and other
names (renamed), with each group of independent statements in the reverse order (reordered),
with comments, blank lines, other spacing and docstrings (decorated), and all three at once.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = "ch03"
STUB = ROOT / "notebooks" / LAB / f"{LAB}_lab.ipynb"

NAMES = {
    "hn": ["h_next", "h_new", "new_h", "state", "h_out", "hidden"],
    "a": ["a", "pre", "z_t", "act", "pre_act", "s"],
    "xu": ["xu", "inp", "x_part", "from_x", "in_term"],
    "hw": ["hw", "rec", "h_part", "from_h", "rec_term"],
    "c": ["cache", "step_cache", "c", "saved", "stash", "memo"],
    "h": ["h", "h_t", "cur", "state", "prev", "hcur"],
    "hs": ["hs", "out", "states", "H_all", "h_seq", "result"],
    "steps": ["steps", "hlist", "collected", "seq", "outs"],
    "caches": ["caches", "cache_list", "all_caches", "cs", "memo"],
    "xt": ["x_t", "xt", "inp", "x_step", "frame"],
    "z": ["z", "shifted", "logits_s", "stable", "zz"],
    "e": ["e", "ex", "exps", "num", "un"],
    "p": ["p", "probs", "soft", "P", "prob"],
    "lp": ["lp", "log_p", "logprobs", "ls", "logsm"],
    "pick": ["pick", "p_true", "target_p", "sel", "chosen"],
    "nll": ["nll", "losses", "neg_log", "per_step", "ce"],
    "loss": ["loss", "total", "L", "value", "J"],
    "g": ["g", "grad", "dlogits", "dz", "d_logits"],
    "oh": ["onehot", "one_hot", "Y", "targets", "oh"],
    "n": ["n", "i", "b", "row", "seq"],
    "t": ["t", "j", "step", "k", "tt"],
}
COMMENTS = ["# compute it", "# vectorised", "# step by step", "# see the lecture notes",
            "# shapes checked by hand", "# TODO tidy up", "# easy", "# numerically stable",
            "# as in the lab text", "# over time"]


class Choices:
    """The choices of one exercise: each ``pick`` draws one alternative and records it."""

    def __init__(self, rng: random.Random):
        self.rng, self.made = rng, []

    def pick(self, options):
        i = self.rng.randrange(len(options))
        self.made.append(i)
        return options[i]


def _term_order(ch: Choices, terms: list[str]) -> list[str]:
    order = ch.pick([(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)])
    return [terms[i] for i in order]


def _tanh(ch: Choices, z: str) -> str:
    return ch.pick([f"np.tanh({z})", f"(np.exp(2 * {z}) - 1) / (np.exp(2 * {z}) + 1)",
                    f"1 - 2 / (np.exp(2 * {z}) + 1)", f"2 / (1 + np.exp(-2 * {z})) - 1"])


def step_forward(ch: Choices, v: dict) -> list:
    """Body of ``rnn_step_forward``: a list of lines and groups (lists) of independent lines."""
    tx = ch.pick(["x @ U.T", "np.dot(x, U.T)", "x.dot(U.T)", "(U @ x.T).T",
                  "np.matmul(x, U.T)", "np.einsum('nd,hd->nh', x, U)"])
    th = ch.pick(["h_prev @ W.T", "np.dot(h_prev, W.T)", "h_prev.dot(W.T)", "(W @ h_prev.T).T",
                  "np.matmul(h_prev, W.T)", "np.einsum('nk,hk->nh', h_prev, W)"])
    tb = ch.pick(["b_h", "b_h[None, :]", "b_h.reshape(1, -1)", "b_h[np.newaxis]"])
    cache = ch.pick([f"(x, h_prev, U, W, b_h, {v['hn']})", f"(x, h_prev, W, {v['hn']})",
                     f"({v['hn']}, x, h_prev, U, W)",
                     f"{{'x': x, 'h_prev': h_prev, 'h': {v['hn']}, 'U': U, 'W': W}}"])
    structure = ch.pick(["one", "two", "three"])
    body: list = []
    if structure == "one":
        body.append(f"{v['hn']} = {_tanh(ch, ' + '.join(_term_order(ch, [tx, th, tb])))}")
    elif structure == "two":
        body += [f"{v['a']} = {' + '.join(_term_order(ch, [tx, th, tb]))}",
                 f"{v['hn']} = {_tanh(ch, v['a'])}"]
    else:
        body += [[f"{v['xu']} = {tx}", f"{v['hw']} = {th}"],
                 f"{v['a']} = {' + '.join(_term_order(ch, [v['xu'], v['hw'], tb]))}",
                 f"{v['hn']} = {_tanh(ch, v['a'])}"]
    if ch.pick([True, False]):
        body += [f"{v['c']} = {cache}", f"return {v['hn']}, {v['c']}"]
    else:
        body.append(f"return {v['hn']}, {cache}")
    return body


def forward(ch: Choices, v: dict) -> list:
    """Body of ``rnn_forward``."""
    head = ch.pick([["N, T, _ = x.shape"], ["N, T, D = x.shape"],
                    [["T = x.shape[1]", "N = x.shape[0]"]], [["N = len(x)", "T = x.shape[1]"]]])
    size = ch.pick(["h0.shape[1]", "W.shape[0]", "U.shape[0]", "h0.shape[-1]"])
    init = ch.pick([f"{v['h']} = h0", f"{v['h']} = h0.copy()", f"{v['h']} = np.array(h0)"])
    keep = ch.pick(["zeros", "empty", "list-stack", "list-array", "list-swap"])
    caches_as = ch.pick(["append", "slots"])
    setup = [init]
    if keep in ("zeros", "empty"):
        setup.append(f"{v['hs']} = np.{keep}((N, T, {size}))")
        store = ch.pick([f"{v['hs']}[:, {v['t']}, :] = {v['h']}",
                         f"{v['hs']}[:, {v['t']}] = {v['h']}"])
        finish = []
    else:
        setup.append(f"{v['steps']} = []")
        store = f"{v['steps']}.append({v['h']})"
        finish = [{"list-stack": f"{v['hs']} = np.stack({v['steps']}, axis=1)",
                   "list-array": f"{v['hs']} = np.array({v['steps']}).transpose(1, 0, 2)",
                   "list-swap": f"{v['hs']} = np.stack({v['steps']}).swapaxes(0, 1)"}[keep]]
    setup.append(f"{v['caches']} = []" if caches_as == "append" else
                 f"{v['caches']} = [None] * T")
    keep_cache = (f"{v['caches']}.append({v['c']})" if caches_as == "append" else
                  f"{v['caches']}[{v['t']}] = {v['c']}")
    if ch.pick(["call", "inline"]) == "call":
        step = [f"{v['h']}, {v['c']} = rnn_step_forward({v['xt']}, {v['h']}, U, W, b_h)"]
    else:
        terms = _term_order(ch, [f"{v['xt']} @ U.T", f"{v['h']} @ W.T", "b_h"])
        step = [f"{v['a']} = {' + '.join(terms)}",
                f"{v['c']} = ({v['xt']}, {v['h']}, U, W, b_h, {_tanh(ch, v['a'])})",
                f"{v['h']} = {v['c']}[-1]"]
    loop = ch.pick(["range", "enumerate", "while"])
    slice_t = ch.pick([f"x[:, {v['t']}, :]", f"x[:, {v['t']}]"])
    inner = [[store, keep_cache]]
    if loop == "range":
        lines = [f"for {v['t']} in range(T):", f"    {v['xt']} = {slice_t}"]
        lines += ["    " + s for s in step] + [["    " + s for s in inner[0]]]
    elif loop == "enumerate":
        seq = ch.pick(["x.transpose(1, 0, 2)", "np.swapaxes(x, 0, 1)", "np.moveaxis(x, 1, 0)"])
        lines = [f"for {v['t']}, {v['xt']} in enumerate({seq}):"]
        lines += ["    " + s for s in step] + [["    " + s for s in inner[0]]]
    else:
        setup.append(f"{v['t']} = 0")
        lines = [f"while {v['t']} < T:", f"    {v['xt']} = {slice_t}"]
        lines += ["    " + s for s in step] + [["    " + s for s in inner[0]]]
        lines.append(f"    {v['t']} += 1")
    return [*head, setup, *lines, *finish,
            ch.pick([f"return {v['hs']}, {v['caches']}", f"return ({v['hs']}, {v['caches']})"])]


def loss(ch: Choices, v: dict) -> list:
    """Body of ``masked_sequence_loss``: vectorised (three ways to pick the targets) or loops."""
    z, p, g, nll, lo = v["z"], v["p"], v["g"], v["nll"], v["loss"]
    shift = ch.pick([f"{z} = logits - logits.max(axis=2, keepdims=True)",
                     f"{z} = logits - np.max(logits, axis=-1, keepdims=True)",
                     f"{z} = logits - logits.max(-1)[..., None]", f"{z} = logits"])
    family = ch.pick(["take", "fancy", "onehot", "loops"])
    if family == "loops":
        n, t = v["n"], v["t"]
        body: list = [ch.pick([["N, T, K = logits.shape"], [["N = logits.shape[0]",
                                                             "T = logits.shape[1]"]]]),
                      [f"{lo} = 0.0", f"{g} = np.zeros_like(logits)"],
                      f"for {n} in range(N):",
                      f"    for {t} in range({ch.pick(['T', 'logits.shape[1]'])}):"]
        skip = ch.pick([f"        if mask[{n}, {t}] == 0:\n            continue",
                        f"        if not mask[{n}, {t}]:\n            continue"])
        row = ch.pick([f"logits[{n}, {t}] - logits[{n}, {t}].max()", f"logits[{n}, {t}]",
                       f"logits[{n}, {t}, :] - np.max(logits[{n}, {t}, :])"])
        e = v["e"]
        probs = ch.pick([f"        {e} = np.exp({row})\n        {p} = {e} / {e}.sum()",
                         f"        {p} = np.exp({row}) / np.sum(np.exp({row}))"])
        body += [skip, probs]
        body.append(ch.pick([[f"        {lo} -= np.log({p}[y[{n}, {t}]])",
                              f"        {g}[{n}, {t}] = {p}"],
                             [f"        {lo} += -np.log({p}[y[{n}, {t}]] + 1e-12)",
                              f"        {g}[{n}, {t}, :] = {p}"]]))
        body.append(f"        {g}[{n}, {t}, y[{n}, {t}]] -= 1")
        body.append(ch.pick([[f"{lo} = {lo} / N", f"{g} = {g} / N"], [f"{lo} /= N", f"{g} /= N"],
                             [f"{lo} = float({lo}) / N", f"{g} *= 1.0 / N"]]))
        return [*body, ch.pick([f"return {lo}, {g}", f"return float({lo}), {g}"])]
    head = ch.pick([["N = logits.shape[0]"], ["N, T, K = logits.shape"], ["N = len(logits)"]])
    need_k = family == "onehot" and "K" not in head[0]
    body = [*head, *([["K = logits.shape[2]", shift]] if need_k else [shift])]
    probs = ch.pick(["norm", "inline", "logsumexp"])
    if probs == "norm":
        e = v["e"]
        body += [f"{e} = np.exp({z})", f"{p} = {e} / {e}.sum(axis=-1, keepdims=True)"]
    elif probs == "inline":
        body.append(f"{p} = np.exp({z}) / np.sum(np.exp({z}), axis=2, keepdims=True)")
    else:
        body += [f"{v['lp']} = {z} - np.log(np.exp({z}).sum(-1, keepdims=True))",
                 f"{p} = np.exp({v['lp']})"]
    if family == "take":
        pick = v["pick"]
        body.append(ch.pick([f"{pick} = np.take_along_axis({p}, y[..., None], axis=-1)[..., 0]",
                             f"{pick} = np.take_along_axis({p}, y[:, :, None], axis=2)"
                             ".squeeze(-1)"]))
        grad = [f"{g} = {p}.copy()",
                f"np.put_along_axis({g}, y[..., None], np.take_along_axis({g}, y[..., None], "
                "axis=-1) - 1, axis=-1)"]
    elif family == "fancy":
        idx = ch.pick([["rows = np.arange(N)[:, None]", "cols = np.arange(y.shape[1])[None, :]"],
                       ["rows, cols = np.meshgrid(np.arange(N), np.arange(y.shape[1]), "
                        "indexing='ij')"]])
        body += [idx if len(idx) > 1 else idx[0], f"{v['pick']} = {p}[rows, cols, y]"]
        grad = [f"{g} = {p}.copy()", f"{g}[rows, cols, y] -= 1.0"]
    else:
        body.append(ch.pick([f"{v['oh']} = np.eye(K)[y]",
                             f"{v['oh']} = (np.arange(K) == y[..., None]).astype(float)"]))
        body.append(f"{v['pick']} = ({p} * {v['oh']}).sum(axis=-1)")
        grad = [f"{g} = {p} - {v['oh']}"]
    body.append(ch.pick([f"{nll} = -np.log({v['pick']})", f"{nll} = -np.log({v['pick']} + 1e-12)"]))
    body.append(ch.pick([f"{lo} = float(({nll} * mask).sum() / N)",
                         f"{lo} = np.sum({nll} * mask) / N",
                         f"{lo} = ({nll} * mask).sum(axis=1).mean()",
                         f"{lo} = float(np.sum(mask * {nll})) / logits.shape[0]"]))
    body += grad
    body.append(ch.pick([f"{g} *= mask[..., None] / N", f"{g} = {g} * mask[:, :, None] / N",
                         f"{g} = {g} * (mask / N)[..., None]", f"{g} = {g} * mask[..., None]"]))
    return [*body, ch.pick([f"return {lo}, {g}", f"return float({lo}), {g}"])]


EXERCISES = {"rnn_step_forward_code": step_forward, "rnn_forward_code": forward,
             "masked_sequence_loss_code": loss}


def _names(rng: random.Random) -> dict:
    """One student's variable names (distinct within the submission)."""
    used, names = set(), {}
    for role, pool in NAMES.items():
        free = [n for n in pool if n not in used] or [f"{pool[0]}{len(used)}"]
        names[role] = rng.choice(free)
        used.add(names[role])
    return names


def render(body: list, reorder: bool = False) -> list[str]:
    """The lines of a body (indented 4), groups of independent lines reversed if ``reorder``."""
    out = []
    for item in body:
        if isinstance(item, list):
            out += render(list(reversed(item)) if reorder else item, reorder)
        else:
            out += ["    " + line for line in item.split("\n")]
    return out


def decorate(lines: list[str], rng: random.Random) -> list[str]:
    """Comments, blank lines and other spacing: what a copier changes to hide a copy."""
    out = []
    for line in lines:
        indent = line[:len(line) - len(line.lstrip())]
        if rng.random() < 0.4:
            out.append(indent + rng.choice(COMMENTS))
        if rng.random() < 0.3:
            out.append("")
        text = line.replace(" = ", "  =  ", 1) if rng.random() < 0.5 else line.replace(", ", ",")
        out.append(text + ("  " + rng.choice(COMMENTS) if rng.random() < 0.3 else ""))
    return out


def cell_source(stub: str, lines: list[str], docstring: str | None = None) -> str:
    """The stub with its ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` replaced."""
    head = stub.split("    # YOUR CODE HERE")[0]
    if docstring is not None:
        start = head.index('"""')
        head = head[:start] + f'"""{docstring}"""\n    '
    return head.rstrip(" ") + "\n".join(lines) + "\n"


class Student:
    """One independent student's choices and names; renders notebooks."""

    def __init__(self, seed: int, taken: dict[str, set] | None = None):
        rng = random.Random(seed)
        self.names, self.bodies, self.seeds = _names(rng), {}, {}
        for gid, write in EXERCISES.items():
            for _ in range(1000):  # no two students make the same choices
                s = rng.randrange(2**32)
                ch = Choices(random.Random(s))
                body = write(ch, self.names)
                if taken is None or tuple(ch.made) not in taken.setdefault(gid, set()):
                    break
            if taken is not None:
                taken[gid].add(tuple(ch.made))
            self.bodies[gid], self.seeds[gid] = body, s

    def renamed(self, seed: int) -> Student:
        """The same choices with other names (every name differs)."""
        other = copy.copy(self)
        rng = random.Random(seed)
        other.names = {role: f"{rng.choice(['my', 'the', 'tmp', 'val'])}_{name}_{k}"
                       for k, (role, name) in enumerate(self.names.items())}
        other.bodies = {gid: EXERCISES[gid](Choices(random.Random(self.seeds[gid])), other.names)
                        for gid in EXERCISES}
        return other

    def cells(self, stubs: dict[str, str], reorder: bool = False,
              decorated: int | None = None) -> dict[str, str]:
        out = {}
        for gid, body in self.bodies.items():
            lines = render(body, reorder)
            doc = None
            if decorated is not None:
                rng = random.Random(decorated)
                lines = decorate(lines, rng)
                doc = "My own docstring, written from scratch."
            out[gid] = cell_source(stubs[gid], lines, doc)
        return out


def stub_notebook() -> dict:
    return json.loads(STUB.read_text(encoding="utf-8"))


def stubs_of(nb: dict) -> dict[str, str]:
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in EXERCISES}


def notebook(cells: dict[str, str], template: dict | None = None) -> dict:
    """The student notebook of lab 3 with the exercise cells replaced by ``cells``."""
    nb = copy.deepcopy(template or stub_notebook())
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell["source"] = cells[gid]
    return nb


def independent(n: int, seed: int = 0) -> list[Student]:
    taken: dict[str, set] = {}
    return [Student(seed * 100_003 + i, taken) for i in range(n)]


def reorderable(student: Student) -> bool:
    """Whether every exercise of ``student`` has a group of two or more independent lines."""
    def groups(body):
        return any(isinstance(item, list) and (len(item) > 1 or groups(item)) for item in body)
    return all(groups(body) for body in student.bodies.values())


def planted_copies(student: Student, stubs: dict[str, str]) -> dict[str, dict[str, str]]:
    """Copies of one student's cells: renamed, reordered, decorated, and all three."""
    other = student.renamed(7)
    return {"renamed": other.cells(stubs), "reordered": student.cells(stubs, reorder=True),
            "decorated": student.cells(stubs, decorated=11),
            "all three": other.cells(stubs, reorder=True, decorated=13)}


def write_class(folder: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` independent submissions of lab 3 as ``folder/studentNNN.ipynb``; their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    template = stub_notebook()
    stubs = stubs_of(template)
    ids = []
    for i, student in enumerate(independent(n, seed)):
        ids.append(f"student{i:03d}")
        (folder / f"{ids[-1]}.ipynb").write_text(json.dumps(notebook(student.cells(stubs),
                                                                     template)))
    return ids


def run(n: int = 300) -> dict:
    """Write ``n`` submissions and time the report on them (reading and the page included):
    wall and CPU seconds of this process."""
    from course_tools.grading.similarity import report_folder, write_report

    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as tmp:
        write_class(Path(tmp) / "subs", n)
        start, cpu = time.perf_counter(), time.process_time()
        result = report_folder(Path(tmp) / "subs", LAB, ROOT)
        write_report(result, Path(tmp) / "out")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"n": n, "seconds": seconds, "cpu_seconds": cpu, "pairs": result.compared,
            "flagged": len(result.flagged), "top": result.pairs[0].score if result.pairs else 0.0,
            "threshold": result.threshold}


def rows(repeat: int = 1, n: int = 300) -> list[dict]:
    """The row of ``benchmarks/run.py --only similarity`` (median of ``repeat`` runs)."""
    import table

    runs = sorted((run(n) for _ in range(repeat)), key=lambda r: r["seconds"])
    r = runs[len(runs) // 2]
    return [table.row(f"similarity report: {n} independent lab 3 submissions "
                      f"({r['pairs']} pairs)", r["seconds"], cpu_seconds=r["cpu_seconds"],
                      note=f"one process; {r['flagged']} pair(s) at or above the threshold "
                           f"{r['threshold']:.2f}, highest score {r['top']:.2f}")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="submissions (default 300)")
    parser.add_argument("--repeat", type=int, default=1, help="runs (median reported)")
    args = parser.parse_args(argv)
    for r in rows(args.repeat, args.n):
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
