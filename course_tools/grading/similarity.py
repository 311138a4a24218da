"""Similar submissions: which pairs of a lab's submissions have suspiciously alike solution
cells. A report for a human to read; it accuses nobody.

    python -m course_tools.grading.similarity SUBMISSIONS --lab ch03 [--out DIR] [--threshold X]

writes ``<out>/similarity.html`` (default ``<root>/grades/<lab>/``), one self-contained page.

What is compared: the exercise (solution) cells of every pair of submissions, exercise by
exercise (the cell nbgrader's metadata names ``<function>_code``, else the cell that defines
the function). The method is MOSS's (Schleimer, Wilkerson and Aiken, *Winnowing: local
algorithms for document fingerprinting*, SIGMOD 2003): each cell becomes a token stream, every
run of :data:`K` tokens (a k-gram) is hashed, and of each window of :data:`WINDOW` consecutive
hashes the smallest is kept (winnowing): two cells that share a run of at least
``K + WINDOW - 1`` tokens share a fingerprint. Before tokenising, what copying changes is
normalised away (:func:`normalise`):

- comments, whitespace and docstrings (the cell is parsed with :mod:`ast` and unparsed);
- names: every name the cell binds (parameters, variables, its own helpers) becomes a
  placeholder numbered by first appearance; names it reads from outside (``np``, builtins, the
  lab's functions), attribute names (``np.tanh``, ``.shape``) and keywords stay as they are;
- the order of independent statements: consecutive statements of which none writes a name
  another reads or writes are put in one canonical order (ordered by their text with the names
  blanked), so swapping two independent lines changes nothing.

Removed from the comparison, because everyone shares them: every k-gram of the released stub
(the student notebook in ``notebooks/<lab>/``) and of the master's solution
(``solutions/<lab>/``), and fingerprints found in more than :func:`common_limit` submissions.
Two students who both hand in the stub, or both the master's code, have nothing left to share
and are never a pair; a copy of the master shows instead in the list of submissions close to
the master (Jaccard of the student's fingerprints, stub removed, with the master's).

The score of a pair is the Jaccard index of their remaining fingerprints, pooled over the
exercises (per exercise in the table too); pairs at or above the threshold (default
:data:`THRESHOLD`) that share at least :data:`MIN_SHARED` fingerprints are listed, highest
first, with both submissions' cells side by side and the lines of shared fingerprints marked.
Unreadable submissions are listed, not compared.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import hashlib
import html
import inspect
import io
import json
import keyword
import math
import re
import sys
import time
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace

from course_tools.labspec import BEGIN_SOLUTION, END_SOLUTION, read_lab

K = 12          # tokens per k-gram
WINDOW = 6      # k-grams per winnowing window: runs of K + WINDOW - 1 = 17 tokens are found
THRESHOLD = 0.5
MIN_SHARED = 3  # fingerprints a pair must share to be listed (tiny cells prove nothing)
BUILTINS = frozenset(dir(builtins))
MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update",
                      "setdefault", "popitem", "sort", "reverse", "add", "discard", "fill",
                      "put", "resize", "itemset", "setflags", "sort_values", "add_", "mul_",
                      "zero_", "copy_", "fill_", "sub_", "div_", "clamp_", "requires_grad_",
                      "backward", "step", "zero_grad", "write", "send"})
WRITE_FIRST = frozenset({"put_along_axis", "put", "copyto", "place", "putmask",
                         "fill_diagonal", "shuffle", "add.at", "at"})
ESCAPES = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal,
           ast.Yield, ast.YieldFrom, ast.Await)


def common_limit(n: int) -> int:
    """A fingerprint found in more than this many of ``n`` submissions is common knowledge
    (an idiom of the lab), not evidence, and is ignored (MOSS's ``-m``, default 10)."""
    return max(10, math.ceil(n / 10))


# --- normalising a cell ------------------------------------------------------------------------

@dataclass
class Tokens:
    """A normalised token stream and, for each token, the lines of the original cell it comes
    from (``(first, last)``, 1-based; ``None`` when unknown)."""

    text: list[str] = field(default_factory=list)
    lines: list[tuple[int, int] | None] = field(default_factory=list)


def _strip_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines blanked (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def _walk(tree: ast.AST) -> tuple[list[ast.AST], set[int]]:
    """Every node of ``tree`` (outer first, as :func:`ast.walk`), and the ids of the nodes with
    a return, raise, break ... inside them (barriers of :func:`_canonical_order`)."""
    nodes, parents, escaping = [tree], {}, set()
    for node in nodes:  # grows while it is read
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            nodes.append(child)
        if isinstance(node, ESCAPES):
            up = node
            while up is not None and id(up) not in escaping:
                escaping.add(id(up))
                up = parents.get(id(up))
    return nodes, escaping


def _bound_names(nodes: list[ast.AST]) -> set[str]:
    """The names a cell (all its ``nodes``) binds itself: assigned, deleted, parameters, its
    defs and classes, loop and ``except`` variables (not those it imports)."""
    bound: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    imported = {a.asname or a.name.split(".")[0] for node in nodes
                if isinstance(node, ast.Import | ast.ImportFrom) for a in node.names}
    return bound - imported


def _drop_docstrings(nodes: list[ast.AST]) -> None:
    """Remove docstrings and bare string statements (comments in disguise)."""
    for node in nodes:
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [s for s in body if not (isinstance(s, ast.Expr) and
                                            isinstance(s.value, ast.Constant) and
                                            isinstance(s.value.value, str))]
            if not kept and name == "body" and not isinstance(node, ast.Module):
                kept = [ast.Pass()]
            setattr(node, name, kept)


def _reads_writes(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    """Names a statement reads and writes; a name whose item or attribute is assigned, whose
    mutating method is called (``caches.append``) or that NumPy writes into
    (``np.put_along_axis(g, ...)``) is written too."""
    reads, writes = set(), set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, ast.Subscript | ast.Attribute) and \
                isinstance(node.ctx, ast.Store | ast.Del):
            base = node.value
            while isinstance(base, ast.Subscript | ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MUTATORS and isinstance(node.func.value, ast.Name):
                writes.add(node.func.value.id)
            elif node.func.attr in WRITE_FIRST and node.args and \
                    isinstance(node.args[0], ast.Name):
                writes.add(node.args[0].id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            reads.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            writes.add(node.name)
    return reads, writes


NAMED = re.compile(r"\b(id|arg|name)='([^']*)'")
BODIES = ("body", "orelse", "finalbody", "handlers")


def _blanked(text: str, labels: dict[str, str]) -> str:
    """An ``ast.dump`` with each bound name replaced by its label (``_`` when it has none)."""
    return NAMED.sub(lambda m: f"{m[1]}='{labels.get(m[2], '_')}'" if m[2] in labels else m[0],
                     text)


def _header(stmt: ast.stmt) -> str:
    """The dump of a statement without its nested statements (a loop's target and iterable)."""
    parts = [ast.dump(v) if isinstance(v, ast.AST) else
             "".join(ast.dump(x) for x in v if isinstance(x, ast.AST)) if isinstance(v, list)
             else repr(v) for f, v in ast.iter_fields(stmt) if f not in BODIES]
    return type(stmt).__name__ + "(" + ",".join(parts) + ")"


def _labels(nodes: list[ast.AST], bound: set[str]) -> dict[str, str]:
    """A label of each bound name that renaming and reordering do not change: a parameter's
    position, else the text (names blanked) of the first statement that binds it. (The
    statements that bind one name all depend on each other, so their order is kept.)"""
    labels: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            a = node.args
            for i, arg in enumerate([*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg]):
                if arg is not None and arg.arg in bound:
                    labels.setdefault(arg.arg, f"p{i}")
    blank = dict.fromkeys(bound, "_")
    stmts = sorted((s for s in nodes if isinstance(s, ast.stmt)),
                   key=lambda s: (getattr(s, "lineno", 0), getattr(s, "col_offset", 0)))
    for stmt in stmts:
        head = _header(stmt)
        own = {m[2] for m in NAMED.finditer(head)} & bound
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            own.add(stmt.name)
        for name in own - labels.keys():
            digest = hashlib.blake2b(_blanked(head, blank).encode(), digest_size=6).hexdigest()
            labels[name] = "b" + digest
    return labels


def _canonical_order(body: list[ast.stmt], labels: dict[str, str],
                     escaping: set[int]) -> list[ast.stmt]:
    """``body`` with each run of statements between barriers (return, raise, break ...) in a
    canonical order: a topological order of their name dependencies, smallest key first."""
    out: list[ast.stmt] = []
    run: list[ast.stmt] = []

    def flush():
        if len(run) > 1:
            keys = [_blanked(ast.dump(s), labels) for s in run]
            rw = [_reads_writes(s) for s in run]
            after = {j: {i for i in range(j) if rw[i][1] & (rw[j][0] | rw[j][1]) or
                         rw[j][1] & rw[i][0]} for j in range(len(run))}
            done: set[int] = set()
            while len(done) < len(run):
                ready = [j for j in range(len(run)) if j not in done and after[j] <= done]
                j = min(ready, key=lambda j: (keys[j], j))
                done.add(j)
                out.append(run[j])
        else:
            out.extend(run)
        run.clear()

    for stmt in body:
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(stmt, name, _canonical_order(inner, labels, escaping))
        for handler in getattr(stmt, "handlers", []):
            handler.body = _canonical_order(handler.body, labels, escaping)
        if id(stmt) in escaping:
            flush()
            out.append(stmt)
        else:
            run.append(stmt)
    flush()
    return out


class _Rename(ast.NodeTransformer):
    """Bound names -> ``v1, v2 ...`` by first appearance (fields visited in source order)."""

    def __init__(self, bound: set[str]):
        self.bound = bound
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        if name not in self.bound:
            return name
        return self.names.setdefault(name, f"v{len(self.names) + 1}")

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node):
        node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_ExceptHandler(self, node):
        if node.name:
            node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    def visit_Global(self, node):
        node.names = [self._new(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global


def _tokens_of(text: str) -> list[tokenize.TokenInfo]:
    """Python's tokens of ``text`` (as many as tokenise before an error)."""
    found = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            found.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def _token_text(tok: tokenize.TokenInfo) -> str | None:
    if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
        return None
    if tok.type == tokenize.NEWLINE:
        return ";"
    if tok.type == tokenize.INDENT:
        return "{"
    if tok.type == tokenize.DEDENT:
        return "}"
    return tok.string


def _fallback(source: str, keep: frozenset[str]) -> Tokens:
    """Tokens of a cell that does not parse: comments dropped, names that are not keywords,
    attributes, builtins or ``keep`` numbered by first appearance."""
    out, names, prev = Tokens(), {}, ""
    for tok in _tokens_of(source):
        text = _token_text(tok)
        if text is None:
            continue
        if tok.type == tokenize.NAME and prev != "." and not keyword.iskeyword(text) and \
                text not in BUILTINS and text not in keep:
            text = names.setdefault(text, f"v{len(names) + 1}")
        out.text.append(text)
        out.lines.append((tok.start[0], tok.end[0]))
        prev = text
    return out


def normalise(source: str, keep: frozenset[str] = frozenset()) -> Tokens:
    """The normalised token stream of one cell (see the module's docstring). ``keep``: names
    bound in the cell that stay as they are (the lab's exercise functions)."""
    source = _strip_magics(source)
    try:
        tree = ast.parse(source)
        nodes, escaping = _walk(tree)
        bound = _bound_names(nodes) - keep
        _drop_docstrings(nodes)
        tree.body = _canonical_order(tree.body, _labels(nodes, bound), escaping)
        tree = _Rename(bound).visit(tree)
        text = ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep for ast: tokens
        return _fallback(source, keep)
    # canonical line -> lines of the original cell: the statements of the canonical tree and of
    # its unparsed text, re-parsed, correspond one to one in ast.walk order (outer first)
    where: dict[int, tuple[int, int]] = {}
    try:
        originals = [s for s in ast.walk(tree) if isinstance(s, ast.stmt)]
        again = [s for s in ast.walk(ast.parse(text)) if isinstance(s, ast.stmt)]
    except (SyntaxError, RecursionError, MemoryError):
        originals, again = [], []
    if len(originals) == len(again):
        for old, new in zip(originals, again, strict=True):
            if getattr(old, "lineno", None) is None:
                continue
            simple = not any(isinstance(getattr(old, f, None), list) and
                             getattr(old, f) and isinstance(getattr(old, f)[0], ast.stmt)
                             for f in ("body", "orelse", "finalbody", "handlers"))
            span = (old.lineno, old.end_lineno if simple else old.lineno)
            for line in range(new.lineno, new.end_lineno + 1):
                where[line] = span
    out = Tokens()
    for tok in _tokens_of(text):
        token = _token_text(tok)
        if token is not None:
            out.text.append(token)
            out.lines.append(where.get(tok.start[0]))
    return out


# --- fingerprints --------------------------------------------------------------------------------

def kgram_hashes(tokens: Tokens, k: int = K) -> list[int]:
    """The 64-bit hash of every run of ``k`` tokens (one of the whole stream when shorter)."""
    text = tokens.text
    if not text:
        return []
    n = max(1, len(text) - k + 1)
    return [int.from_bytes(hashlib.blake2b("\x1f".join(text[i:i + k]).encode(),
                                           digest_size=8).digest(), "big") for i in range(n)]


def winnow(hashes: list[int], window: int = WINDOW) -> dict[int, list[int]]:
    """Winnowing: in each window of ``window`` consecutive hashes the smallest (the rightmost
    of equals) is a fingerprint. Returns fingerprint -> positions of its k-grams."""
    chosen: dict[int, list[int]] = defaultdict(list)
    if len(hashes) <= window:
        if hashes:
            i = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
            chosen[hashes[i]].append(i)
        return dict(chosen)
    last = -1
    for start in range(len(hashes) - window + 1):
        i = min(range(start, start + window), key=lambda i: (hashes[i], -i))
        if i != last:
            chosen[hashes[i]].append(i)
            last = i
    return dict(chosen)


@dataclass
class Cell:
    """One exercise cell of one submission: its source and its fingerprints."""

    source: str
    tokens: Tokens
    raw: dict[int, list[int]]                                  # stub removed
    prints: dict[int, list[int]] = field(default_factory=dict)  # stub and master removed

    def lines(self, hashes, k: int = K) -> set[int]:
        """The original lines covered by the k-grams of ``hashes``."""
        found = set()
        for h in hashes:
            for pos in self.prints.get(h, self.raw.get(h, [])):
                for span in self.tokens.lines[pos:pos + k]:
                    if span:
                        found.update(range(span[0], span[1] + 1))
        return found


# --- the lab ------------------------------------------------------------------------------------

@dataclass
class Exercise:
    grade_id: str
    function: str
    stub: str
    master: str


def _stub_from_master(source: str) -> str:
    """nbgrader's student version of a solution cell (when notebooks/ is not there)."""
    lines, inside = [], False
    for line in source.splitlines():
        if BEGIN_SOLUTION in line:
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            lines += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif END_SOLUTION in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def exercises(lab: str, root: Path) -> list[Exercise]:
    """The lab's exercises: the master's solution cells and the released stub of each."""
    from course_tools.grading.spec import master_notebook

    master = master_notebook(lab, root / "solutions")
    released = root / "notebooks" / lab / master.name
    stubs: dict[str, str] = {}
    if released.exists():
        for cell in json.loads(released.read_text(encoding="utf-8"))["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid:
                src = cell["source"]
                stubs[gid] = src if isinstance(src, str) else "".join(src)
    return [Exercise(c.grade_id, c.function, stubs.get(c.grade_id) or
                     _stub_from_master(c.source), c.source) for c in read_lab(master).solutions]


def exercise_cells(nb, found: list[Exercise]) -> dict[str, str]:
    """grade id -> source of the submission's cell of each exercise: the cell nbgrader's
    metadata names, else the first code cell that defines the function."""
    cells: dict[str, str] = {}
    code = [(c.get("metadata", {}).get("nbgrader", {}).get("grade_id"),
             c.source if isinstance(c.source, str) else "".join(c.source))
            for c in nb.cells if c.cell_type == "code"]
    for ex in found:
        named = [source for gid, source in code if gid == ex.grade_id]
        if not named:
            named = [source for _, source in code if f"def {ex.function}(" in source]
        if named:
            cells[ex.grade_id] = named[0]
    return cells


# --- the report ---------------------------------------------------------------------------------

@dataclass
class Pair:
    a: str
    b: str
    score: float                       # pooled Jaccard
    shared: int
    per_exercise: dict[str, float | None]
    hashes: dict[str, set[int]]        # shared fingerprints per exercise


@dataclass
class Report:
    lab: str
    threshold: float
    students: list[str]
    unreadable: dict[str, str]
    exercises: list[Exercise]
    cells: dict[str, dict[str, Cell]]  # student -> grade id -> cell
    pairs: list[Pair]                  # every pair sharing a fingerprint, highest first
    compared: int
    ignored_common: int
    master_scores: dict[str, float]
    seconds: float = 0.0

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.threshold and p.shared >= MIN_SHARED]

    @property
    def close_to_master(self) -> list[tuple[str, float]]:
        return sorted(((s, v) for s, v in self.master_scores.items() if v >= self.threshold),
                      key=lambda sv: (-sv[1], sv[0]))


def _jaccard(a: set, b: set) -> float | None:
    union = len(a | b)
    return len(a & b) / union if union else None


def compare(notebooks: dict[str, object], found: list[Exercise], lab: str = "",
            threshold: float = THRESHOLD, unreadable: dict[str, str] | None = None) -> Report:
    """The report for read notebooks (student -> nbformat node) of a lab's exercises."""
    start = time.perf_counter()
    keep = frozenset(ex.function for ex in found)
    stubs: dict[str, set[int]] = {}          # every k-gram of the stub
    shared_by_all: dict[str, set[int]] = {}  # every k-gram of the stub and the master
    master_prints: dict[str, set[int]] = {}  # the master's fingerprints, stub removed
    for ex in found:
        stubs[ex.grade_id] = set(kgram_hashes(normalise(ex.stub, keep)))
        master_hashes = kgram_hashes(normalise(ex.master, keep))
        shared_by_all[ex.grade_id] = stubs[ex.grade_id] | set(master_hashes)
        master_prints[ex.grade_id] = set(winnow(master_hashes)) - stubs[ex.grade_id]
    cells: dict[str, dict[str, Cell]] = {}
    unreadable = dict(unreadable or {})
    for student, nb in notebooks.items():
        mine = {}
        try:
            for gid, source in exercise_cells(nb, found).items():
                tokens = normalise(source, keep)
                prints = winnow(kgram_hashes(tokens))
                raw = {h: p for h, p in prints.items() if h not in stubs[gid]}
                everyone = shared_by_all[gid]
                mine[gid] = Cell(source, tokens, raw,
                                 {h: p for h, p in raw.items() if h not in everyone})
        except Exception as exc:  # one odd notebook must not stop the report
            unreadable[student] = f"could not be compared: {type(exc).__name__}: {exc}"[:300]
            continue
        cells[student] = mine
    # fingerprints of too many submissions are the lab's idioms
    holders: dict[tuple[str, int], list[str]] = defaultdict(list)
    for student, by_id in cells.items():
        for gid, cell in by_id.items():
            for h in cell.prints:
                holders[(gid, h)].append(student)
    limit = common_limit(len(cells))
    common = {key for key, who in holders.items() if len(who) > limit}
    for key in common:
        for student in holders.pop(key):
            cells[student][key[0]].prints.pop(key[1], None)
    sizes = {s: sum(len(c.prints) for c in by_id.values()) for s, by_id in cells.items()}
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for who in holders.values():
        for a, b in combinations(sorted(who), 2):
            shared[(a, b)] += 1
    pairs = []
    for (a, b), n in shared.items():
        per, hashes = {}, {}
        for ex in found:
            x = set(cells[a][ex.grade_id].prints) if ex.grade_id in cells[a] else set()
            y = set(cells[b][ex.grade_id].prints) if ex.grade_id in cells[b] else set()
            per[ex.grade_id], hashes[ex.grade_id] = _jaccard(x, y), x & y
        pairs.append(Pair(a, b, n / (sizes[a] + sizes[b] - n), n, per, hashes))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    master_scores = {}
    for student, by_id in cells.items():
        mine = {(g, h) for g, c in by_id.items() for h in c.raw}
        if mine:
            master = {(g, h) for g in by_id for h in master_prints[g]}
            master_scores[student] = _jaccard(mine, master) or 0.0
    n = len(cells)
    return Report(lab, threshold, sorted(cells), unreadable, found, cells, pairs,
                  n * (n - 1) // 2, len(common), master_scores, time.perf_counter() - start)


def report_folder(submissions: Path, lab: str, root: Path,
                  threshold: float = THRESHOLD) -> Report:
    """Read every submission of a folder as the grader finds and reads them, and compare."""
    from course_tools.grading.results import find_submissions
    from course_tools.grading.run import read_submission
    from course_tools.grading.spec import master_notebook

    start = time.perf_counter()
    found = exercises(lab, root)

    spec = SimpleNamespace(lab=lab, cell_ids={ex.grade_id for ex in found})  # what it reads
    notebooks, unreadable = {}, {}
    # find_submissions learns nbgrader's submitted/<student>/<lab>/ layout (issue 21, item 5):
    # the lab and its notebook's name choose among a student's notebooks, as when grading
    if "notebook" in inspect.signature(find_submissions).parameters:
        name = master_notebook(lab, root / "solutions").name
        found_subs = find_submissions(Path(submissions), lab, name)
    else:
        found_subs = find_submissions(Path(submissions))
    for student, path in found_subs.items():
        nb, failed = read_submission(student, path, spec, root=Path(submissions))
        if failed is not None:
            unreadable[student] = f"{failed.status}: {failed.message}"
        else:
            notebooks[student] = nb
    result = compare(notebooks, found, lab, threshold, unreadable)
    result.seconds = time.perf_counter() - start
    return result


# --- HTML -----------------------------------------------------------------------------------------

CSS = """body{font-family:sans-serif;max-width:80em;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left}
.notice{background:#fff7d6;border:1px solid #e0c060;padding:.6em 1em}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side>div{min-width:0}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:85%;margin:0}
pre span{display:block}pre .hit{background:#ffd9a0}h3{margin-top:1.5em}"""


def _pre(cell: Cell | None, marked: set[int]) -> str:
    if cell is None:
        return "<pre>(no cell of this exercise)</pre>"
    rows = [f'<span class="hit">{html.escape(line) or " "}</span>' if i in marked else
            f"<span>{html.escape(line) or ' '}</span>"
            for i, line in enumerate(cell.source.split("\n"), start=1)]
    return "<pre>" + "".join(rows) + "</pre>"


def _fmt(score: float | None) -> str:
    return "–" if score is None else f"{score:.2f}"


def to_html(report: Report) -> str:
    """The report as one self-contained page (inline style, no script, nothing loaded)."""
    e = html.escape
    flagged = report.flagged
    ids = [ex.grade_id for ex in report.exercises]
    titles = {ex.grade_id: ex.function for ex in report.exercises}
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Similar "
           f"submissions, {e(report.lab)}</title><style>{CSS}</style></head><body>",
           f"<h1>Similar submissions: lab {e(report.lab)}</h1>",
           "<p class='notice'><b>This report accuses nobody.</b> It lists pairs of "
           "submissions whose exercise cells are alike after names, comments, whitespace and "
           "the order of independent lines are normalised, for a human to read. Alike code has "
           "innocent causes (a common source, working together as allowed, a short exercise "
           "with one natural answer); only a person who reads the code and talks with the "
           "students can judge.</p>",
           f"<p>{len(report.students)} submissions read, {report.compared} pairs compared, "
           f"{len(flagged)} pair(s) at or above the threshold {report.threshold:.2f} "
           f"(Jaccard index of the remaining fingerprints, pooled over the exercises "
           f"{', '.join(e(titles[i]) for i in ids)}; at least {MIN_SHARED} shared fingerprints). "
           f"Method: winnowed {K}-gram fingerprints of the normalised token stream "
           f"(window {WINDOW}; Schleimer, Wilkerson and Aiken 2003, as in MOSS). Removed: "
           f"every k-gram of the released stub and of the master's solution, and "
           f"{report.ignored_common} fingerprint(s) found in more than "
           f"{common_limit(len(report.students))} submissions. Built in "
           f"{report.seconds:.1f} s.</p>"]
    if report.unreadable:
        out.append("<h2>Not compared</h2><table><tr><th>submission</th><th>why</th></tr>")
        out += [f"<tr><td>{e(s)}</td><td>{e(why)}</td></tr>"
                for s, why in sorted(report.unreadable.items())]
        out.append("</table>")
    out.append("<h2>Pairs at or above the threshold</h2>")
    if flagged:
        out.append("<table><tr><th>#</th><th>submission</th><th>submission</th><th>score</th>"
                   "<th>shared</th>" + "".join(f"<th>{e(titles[i])}</th>" for i in ids) + "</tr>")
        out += [f"<tr><td><a href='#pair{n}'>{n}</a></td><td>{e(p.a)}</td><td>{e(p.b)}</td>"
                f"<td>{p.score:.2f}</td><td>{p.shared}</td>" +
                "".join(f"<td>{_fmt(p.per_exercise[i])}</td>" for i in ids) + "</tr>"
                for n, p in enumerate(flagged, start=1)]
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    below = [p for p in report.pairs if p not in flagged][:5]
    if below:
        out.append("<p>Highest scores below the threshold: " + ", ".join(
            f"{e(p.a)} / {e(p.b)} {p.score:.2f}" for p in below) + ".</p>")
    out.append("<h2>Close to the master's solution</h2><p>Copying the master's code is not a "
               "pair (the master is removed from the comparison); it shows here instead: the "
               "Jaccard index of a submission's fingerprints (stub removed) with the "
               "master's.</p>")
    close = report.close_to_master
    out.append("<table><tr><th>submission</th><th>similarity to the master</th></tr>" +
               "".join(f"<tr><td>{e(s)}</td><td>{v:.2f}</td></tr>" for s, v in close) +
               "</table>" if close else "<p>None at or above the threshold.</p>")
    for n, p in enumerate(flagged, start=1):
        out.append(f"<h2 id='pair{n}'>{n}. {e(p.a)} and {e(p.b)}: {p.score:.2f}</h2>"
                   "<p>Marked lines hold fingerprints the two share.</p>")
        for i in ids:
            a, b = report.cells[p.a].get(i), report.cells[p.b].get(i)
            hashes = p.hashes.get(i, set())
            out.append(f"<h3>{e(titles[i])}: {_fmt(p.per_exercise[i])}</h3><div class='side'>"
                       f"<div><b>{e(p.a)}</b>{_pre(a, a.lines(hashes) if a else set())}</div>"
                       f"<div><b>{e(p.b)}</b>{_pre(b, b.lines(hashes) if b else set())}</div>"
                       "</div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(report: Report, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "similarity.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path


def summary(report: Report, path: Path) -> str:
    lines = [f"{report.lab}: {len(report.students)} submissions, {report.compared} pairs "
             f"compared, {len(report.flagged)} at or above {report.threshold:.2f}, "
             f"{len(report.close_to_master)} close to the master, "
             f"{len(report.unreadable)} not readable ({report.seconds:.1f} s)"]
    lines += [f"  {p.score:.2f}  {p.a}  {p.b}" for p in report.flagged[:20]]
    lines.append(f"wrote {path} (a report for a human; it accuses nobody)")
    return "\n".join(lines)


def report_and_write(submissions: Path, lab: str, out: Path, root: Path,
                     threshold: float = THRESHOLD) -> str:
    """Compare a folder's submissions, write ``out/similarity.html``; the summary."""
    result = report_folder(submissions, lab, root, threshold)
    return summary(result, write_report(result, Path(out)))


def main(argv: list[str] | None = None) -> int:
    from course_tools.paths import add_root_option, find_root

    parser = argparse.ArgumentParser(prog="python -m course_tools.grading.similarity",
                                     description="Pairs of submissions with alike exercise "
                                                 "cells (a report for a human).")
    parser.add_argument("submissions", type=Path, help="folder of submissions")
    parser.add_argument("--lab", required=True, help="lab id, e.g. ch03")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <root>/grades/<lab>)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"list pairs whose score is at least this (default {THRESHOLD})")
    add_root_option(parser)
    args = parser.parse_args(argv)
    if not 0 < args.threshold <= 1:
        parser.error("--threshold: expected a number in (0, 1]")
    try:
        root = find_root(args.root)
        print(report_and_write(args.submissions, args.lab, args.out or root / "grades" / args.lab,
                               root, args.threshold))
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
