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
from labs import master_functions, master_variant

from course_tools.grading.run import _run_parts
from course_tools.grading.spec import LabSpec

# lab -> question -> (the mistake, as an edit of the master's function; the part it fails)
MISTAKES = {
    "ch03": {
        "rnn_step_forward": (
            {"np.tanh(x @ U.T + h_prev @ W.T + b_h)":
             "(lambda a: (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1))"
             "(x @ U.T + h_prev @ W.T + b_h)"},
            "saturated pre-activations"),  # tanh from np.exp: inf / inf once a > 355
        "masked_sequence_loss": (
            {"loss = float(np.sum(nll * mask) / N)":
             "loss = float(np.sum(nll * mask) / np.sum(mask.sum(axis=1) > 0))",
             "dlogits *= mask[..., None] / N":
             "dlogits *= mask[..., None] / np.sum(mask.sum(axis=1) > 0)"},
            "a batch with a sequence that is all padding"),  # averages over non-empty rows
    },
}
CASES = [(lab, qid) for lab, qs in MISTAKES.items() for qid in qs]


@pytest.fixture(scope="module")
def specs():
    return {lab: LabSpec(lab) for lab in MISTAKES}


def _parts(spec: LabSpec, qid: str, fn) -> dict[str, bool]:
    q = next(q for q in spec.questions if q.qid == qid)
    ns = {**spec.namespace(), **master_functions(spec.lab), qid: fn}
    parts: list = []
    assert _run_parts(q, ns, parts) == ""
    return {p.name: p.passed for p in parts}


@pytest.mark.parametrize("lab, qid", CASES)
def test_a_mistake_the_public_check_misses_loses_one_hidden_part(specs, lab, qid):
    edits, part = MISTAKES[lab][qid]
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
