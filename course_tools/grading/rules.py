"""From-scratch rules of exercises: what a graded function may not use, and how the grader
finds out that it did.

A grade marker may state a rule: ``# grade: rnn_forward (3 points, numpy only)``. The only
rule so far is ``numpy only``: the graded function (and every function of the notebook it
calls) may not use ``torch`` nor ``course_lib``. Two witnesses, because neither alone is
enough:

- **the source** (:func:`static_uses`, in the grader, trusted): the submission's code cells are
  parsed; the graded name's definitions and assignments, and, transitively, the notebook's
  functions and variables they read, are searched for ``torch`` or ``course_lib`` (imported
  under any name, or reached through a variable), for imports inside functions, and for the
  ways around a reading of the source (``__import__``, ``importlib``, ``eval``, ``exec``,
  ``compile``, ``globals``, ``sys.modules``, ``builtins``, ``setprofile``/``settrace``);
- **a trace of the graded call** (:func:`course_tools.sandbox.kernel_side.tracer`, in the
  kernel): every call into torch or ``course_lib`` while the student's function runs on the
  hidden tests' inputs, and an attempt to switch the trace off.

Plain NumPy (``np.tanh``, ``@``, ``np.einsum``) is never reported. What the course does with a
report is its policy: ``zero`` (the question earns nothing; the default) or ``flag`` (the points
stand and the row is flagged for review). Either way the reason is in ``grades.csv`` (column
``flags``) and in the student's feedback.
"""

from __future__ import annotations

import ast

RULES = {"numpy only": ("torch", "course_lib")}
POLICIES = ("zero", "flag")
DYNAMIC = {"__import__", "importlib", "eval", "exec", "compile", "globals", "builtins",
           "__builtins__", "setprofile", "settrace", "vars", "locals"}


def forbidden(rule: str | None) -> tuple[str, ...]:
    """The packages ``rule`` forbids (none for no rule); a rule the grader does not know is an
    error in the master, reported when the lab is loaded."""
    if rule is None:
        return ()
    key = " ".join(rule.lower().split())
    if key not in RULES:
        raise ValueError(f"rule: expected one of {sorted(RULES)}, got {rule!r}")
    return RULES[key]


def _root(module: str | None) -> str:
    return (module or "").split(".")[0]


def _free_names(node: ast.AST) -> set[str]:
    """The names ``node`` (a function, class or expression) reads from the notebook's globals:
    what it loads minus its parameters and the names it binds itself."""
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    local = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and
             isinstance(n.ctx, ast.Store | ast.Del)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            a = sub.args
            local |= {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            local |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
            if sub is not node and not isinstance(sub, ast.Lambda):
                local.add(sub.name)
        elif isinstance(sub, ast.ClassDef) and sub is not node:
            local.add(sub.name)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            local |= {x.asname or x.name.split(".")[0] for x in sub.names}
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            local.add(sub.name)
    declared = {name for sub in ast.walk(node) if isinstance(sub, ast.Global) for name in sub.names}
    return loads - (local - declared)


class _Notebook:
    """The module-level bindings of a submission's code cells."""

    def __init__(self, sources: list[str], banned: tuple[str, ...]):
        self.banned = banned
        self.imported: dict[str, str] = {}             # name -> module it comes from
        self.bindings: dict[str, list[ast.AST]] = {}   # name -> defs and assigned values
        for source in sources:
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in tree.body:
                self._bind(node)

    def _bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                self.imported[a.asname or a.name.split(".")[0]] = a.name
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                self.imported[a.asname or a.name] = f"{node.module or ''}.{a.name}"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.bindings.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and node.value is not None:
                        self.bindings.setdefault(name.id, []).append(node.value)
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self._bind(child)
            for handler in getattr(node, "handlers", []):
                for child in handler.body:
                    self._bind(child)

    def uses(self, name: str) -> list[str]:
        """Why the notebook's ``name`` breaks the rule (empty when it does not)."""
        reasons: list[str] = []
        seen: set[str] = set()

        def add(why: str, path: list[str]) -> None:
            where = f" in {path[-1]}" + (f" (called by {' <- '.join(reversed(path[:-1]))})"
                                          if len(path) > 1 else "")
            if why + where not in reasons:
                reasons.append(why + where)

        def visit(n: str, path: list[str]) -> None:
            if n in seen:
                return
            seen.add(n)
            path = [*path, n]
            if _root(self.imported.get(n)) in self.banned:
                add(f"uses {n}, imported from {self.imported[n]},", path[:-1] or path)
                return
            for node in self.bindings.get(n, []):
                free_names = _free_names(node)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                        not any(isinstance(a, ast.Name) and a.id == node.func.id
                                for a in ast.walk(ast.Module(node.args, []))):
                    # ``rng = set_seed(0)``: the variable holds data the call made; what the
                    # function then calls is the trace's to see
                    free_names.discard(node.func.id)
                for free in sorted(free_names):
                    if free in self.banned and free not in self.bindings and \
                            free not in self.imported:
                        add(f"uses {free}", path)
                    elif free in DYNAMIC:
                        add(f"uses {free} (which hides what the code calls)", path)
                    elif free != n and (free in self.bindings or free in self.imported):
                        visit(free, path)
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        modules = ([a.name for a in sub.names] if isinstance(sub, ast.Import)
                                   else [sub.module or ""])
                        for m in modules:
                            if _root(m) in self.banned:
                                add(f"imports {m}", path)
                    elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and \
                            sub.id in DYNAMIC:
                        add(f"uses {sub.id} (which hides what the code calls)", path)
                    elif isinstance(sub, ast.Attribute) and (
                            sub.attr in DYNAMIC or (sub.attr == "modules" and
                                                    isinstance(sub.value, ast.Name) and
                                                    sub.value.id == "sys")):
                        add(f"uses .{sub.attr} (which hides what the code calls)", path)

        visit(name, [])
        return reasons


def static_uses(sources: list[str], name: str, rule: str | None) -> list[str]:
    """The reasons the submission's ``name`` (defined in the code cells ``sources``) breaks
    ``rule``, read from its source; empty when it keeps the rule or there is no rule."""
    banned = forbidden(rule)
    if not banned:
        return []
    return _Notebook(sources, banned).uses(name)


def traced_uses(used: list[str], rule: str | None) -> list[str]:
    """The kernel's trace of the graded calls (:attr:`KernelFunctions.used`) as reasons."""
    banned = forbidden(rule)
    if not banned:
        return []
    reasons = []
    for what in used:
        if what.split(".")[0] in banned:
            reasons.append(f"called {what} while graded")
        elif "trace" in what:
            reasons.append(what)
    return reasons
