"""Hidden tests that tell students apart (issue 20): for each lab whose questions are graded in
named parts, a typical mistake that PASSES the public check still loses the points of the
hidden part that tests what the public example does not show, and only those; the master's own
functions earn every part.

The hidden parts run as the grader runs them (``course_tools.grading.run._run_parts``, in the
namespace the master's imports make), in this process instead of the sandbox: what is tested
here is what the parts ask, not the sandbox (tests/test_grading.py covers that).
"""

from __future__ import annotations

import pytest
from labs import ROOT, master_functions, master_variant
from mistakes import all_mistakes

from course_tools.grading.run import _run_parts
from course_tools.grading.spec import LabSpec

MISTAKES = all_mistakes()  # lab -> [(question, edits of the master's function, part it loses)]
CASES = [(lab, qid, edits, part) for lab, found in MISTAKES.items()
         for qid, edits, part in found]
LABS = sorted(p.parent.name for p in ROOT.glob("solutions/ch*/ch*_lab.ipynb"))


@pytest.fixture(scope="module")
def specs():
    return {lab: LabSpec(lab) for lab in MISTAKES}


def _parts(spec: LabSpec, qid: str, fn) -> dict[str, bool]:
    q = next(q for q in spec.questions if q.qid == qid)
    ns = {**spec.namespace(), **master_functions(spec.lab), qid: fn}
    parts: list = []
    assert _run_parts(q, ns, parts) == ""
    return {p.name: p.passed for p in parts}


@pytest.mark.parametrize("lab, qid, edits, part", CASES,
                         ids=[f"{lab}-{qid}-{part}" for lab, qid, _, part in CASES])
def test_a_mistake_the_public_check_misses_loses_one_hidden_part(specs, lab, qid, edits, part):
    spec = specs[lab]
    mistake = master_variant(lab, qid, edits)
    check = spec.namespace()[f"check_{qid}"]
    assert check(mistake, quiet=True), "the mistake must pass the public check"
    result = _parts(spec, qid, mistake)
    assert part in result, f"{qid} has no hidden part {part!r}: {sorted(result)}"
    assert [name for name, ok in result.items() if not ok] == [part]


@pytest.mark.parametrize("lab", sorted(MISTAKES))
def test_the_masters_functions_earn_every_hidden_part(specs, lab):
    spec = specs[lab]
    functions = master_functions(lab)
    for q in spec.questions:
        if len(q.parts) > 1:
            assert all(_parts(spec, q.qid, functions[q.qid]).values()), q.qid


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_has_a_mistake_that_only_its_hidden_tests_catch(lab):
    """Issue 20: for each lab, a function that passes the public check but mishandles a hidden
    case loses points (the mistakes of tests/mistakes/<lab>.py, run above)."""
    assert MISTAKES.get(lab), f"tests/mistakes/{lab}.py has no mistake"


@pytest.mark.parametrize("lab", LABS)
def test_every_question_split_into_parts_has_a_mistake_for_a_part(lab):
    split = {q.qid for q in LabSpec(lab).questions if len(q.parts) > 1}
    missing = split - {qid for qid, _, _ in MISTAKES.get(lab, [])}
    assert not missing, f"no mistake in tests/mistakes/{lab}.py for {sorted(missing)}"
