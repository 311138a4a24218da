"""The benchmark helpers: medians, ratios, budgets and the table writer (no timing here)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import table  # noqa: E402
from labcode import lab_functions  # noqa: E402


def test_median_of_odd_and_even_counts():
    assert table.median([3.0, 1.0, 2.0]) == 2.0
    assert table.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError):
        table.median([])


def test_row_ratio_is_seconds_over_reference():
    r = table.row("x", 3.0, reference=2.0)
    assert r["ratio"] == 1.5
    assert table.row("y", 3.0)["ratio"] is None
    assert table.row("z", None, ratio=1.66)["ratio"] == 1.66


@pytest.mark.parametrize(("r", "expected"), [
    (table.row("a", 59.0, limit=("seconds", 60)), True),
    (table.row("b", 61.0, limit=("seconds", 60)), False),
    (table.row("c", 1.2, reference=1.0, limit=("ratio", 1.0)), False),
    (table.row("d", 0.9, reference=1.0, limit=("ratio", 1.0)), True),
    (table.row("e", 1.05, reference=1.0, limit=("overhead", 0.10)), True),
    (table.row("f", 1.15, reference=1.0, limit=("overhead", 0.10)), False),
    (table.row("g", 5.0), None),
    (table.row("h", None, limit=("seconds", 90)), None),  # target not reached: no verdict
])
def test_meets_compares_the_budgeted_field(r, expected):
    assert table.meets(r) is expected


def test_budget_text_round_trips():
    for limit in (("seconds", 60), ("seconds", 300), ("ratio", 1.0), ("overhead", 0.1), None):
        assert table.parse_budget(table.budget_text(limit)) == limit


def test_markdown_has_one_line_per_row_and_verdicts():
    rows = [table.row("lab ch01", 14.4, cpu_seconds=12.6, limit=("seconds", 60)),
            table.row("layer", 0.0125, reference=0.01, limit=("ratio", 1.0), note="a | b")]
    text = table.markdown(rows, ["Measured today."])
    lines = text.strip().splitlines()
    assert lines[0] == "Measured today."
    assert lines[-2].startswith("| lab ch01 | 14.4 | 12.6 |") and "| ok |" in lines[-2]
    assert "| 0.013 |" in lines[-1] and "| 1.25 |" in lines[-1] and "MISSED" in lines[-1]
    assert "a / b" in lines[-1]  # a pipe in a note must not split the cell
    assert all(line.count("|") == 9 for line in lines if line.startswith("|"))


def test_write_then_read_csv_and_merge(tmp_path):
    rows = [table.row("a", 1.0, limit=("seconds", 60)), table.row("b", 2.0, reference=4.0)]
    table.write(rows, ["x"], tmp_path)
    assert (tmp_path / "latest.md").read_text().startswith("x\n")
    with open(tmp_path / "latest.csv", newline="") as f:
        assert [r["item"] for r in csv.DictReader(f)] == ["a", "b"]
    back = table.read_csv(tmp_path / "latest.csv")
    assert back[0]["seconds"] == 1.0 and back[0]["limit"] == ("seconds", 60.0)
    assert back[1]["ratio"] == 0.5
    merged = table.merge(back, [table.row("b", 3.0), table.row("c", 1.0)])
    assert [r["item"] for r in merged] == ["a", "b", "c"]
    assert merged[1]["seconds"] == 3.0
    assert table.read_csv(tmp_path / "missing.csv") == []


def test_a_re_measured_step_drops_its_rows_that_no_longer_exist(tmp_path):
    rows = [table.row("GRU old name", 1.0, step="layers"), table.row("page ch01", 9.0,
                                                                     step="pages"),
            table.row("LSTM", 2.0, step="layers"), table.row("from an old table", 3.0)]
    table.write(rows, [], tmp_path)
    back = table.read_csv(tmp_path / "latest.csv")
    assert [r["step"] for r in back] == ["layers", "pages", "layers", ""]
    merged = table.merge(back, [table.row("LSTM", 1.5, step="layers"),
                                table.row("GRU new name", 0.5, step="layers")], ["layers"])
    assert [(r["item"], r["seconds"]) for r in merged] == [
        ("page ch01", 9.0), ("LSTM", 1.5), ("from an old table", 3.0), ("GRU new name", 0.5)]


def test_lab_functions_loads_definitions_without_running_the_lab():
    ns = lab_functions("ch04")
    # the given forward pass and the reference backward pass, nothing computed at top level
    assert callable(ns["rnn_forward"]) and callable(ns["rnn_backward"])
    assert "x_demo" not in ns


def test_portability_report_reads_nbval_failures_and_ranges_claims(tmp_path, monkeypatch):
    import portability

    xml = tmp_path / "labs.xml"
    xml.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="solutions.ch04.ch04_lab.ipynb" name="Cell 11">'
        '<failure message="Notebook cell execution failed">Cell 11: Cell outputs differ'
        '</failure></testcase>'
        '<testcase classname="solutions.ch04.ch04_lab.ipynb" name="Cell 12"/>'
        '<testcase classname="solutions.ch09.ch09_lab.ipynb" name="Cell 3">'
        '<failure message="failed">Traceback ... ClaimFailed: claim \'x\' does not hold'
        '</failure></testcase>'
        '<testcase classname="solutions.ch03.ch03_lab.ipynb" name="Cell 1"/>'
        '</testsuite></testsuites>')
    monkeypatch.setattr(portability.subprocess, "run", lambda *a, **k: None)
    paths = [tmp_path / f"solutions/{lab}/{lab}_lab.ipynb" for lab in ("ch03", "ch04", "ch09")]
    result = portability.run_labs(paths, {}, 0, xml)
    assert result["ch03"] == "ok"
    assert result["ch04"] == "Cell 11 (outputs differ)"
    assert result["ch09"].startswith("Cell 3 (error: ") and "ClaimFailed" in result["ch09"]
    assert portability.where_label("ch04") == "ch04 lab"
    assert portability.where_label("ch04_bptt") == "ch04 page"
    claims = [{"where": "ch04", "name": "bpc", "value": v, "bound": "< 0.7", "holds": v < 0.7,
               "config": c, "seed": 0} for v, c in ((0.5, "native"), (0.62, "aten-default"))]
    runs = [{"config": "native", "seed": 0, "labs": result, "pages": {"ch04_bptt": "ok"},
             "seconds": 12.0}]
    text = portability.report(runs, claims)
    assert "| native | — | 0 | 1/3 | 1/1 | 12 |" in text
    assert "| ch04 lab | bpc | < 0.7 | 0.5 | 0.62 | 2 | yes |" in text
    assert "- native, seed 0, ch04: Cell 11 (outputs differ)" in text


def test_portability_append_replaces_a_rerun_and_keeps_the_rest(tmp_path, monkeypatch):
    import portability

    monkeypatch.setattr(portability, "RESULTS", tmp_path)
    monkeypatch.setattr(portability, "labs", lambda only: [Path("solutions/ch01/ch01_lab.ipynb")])
    monkeypatch.setattr(portability, "run_labs", lambda paths, env, seed, xml: {"ch01": "ok"})
    monkeypatch.setattr(portability, "pages", lambda only: set())
    old = {"config": "native", "seed": 1, "labs": {"ch01": "ok"}, "pages": {}, "seconds": 5.0}
    stale = {"config": "aten-default", "seed": 2, "labs": {"ch01": "Cell 3 (outputs differ)",
                                                           "ch02": "ok"},
             "pages": {}, "seconds": 7.0}
    claims = [{"config": r["config"], "seed": r["seed"], "where": "ch01", "name": "acc",
               "value": v, "bound": ">= 0.9", "holds": v >= 0.9}
              for r, v in ((old, 0.95), (stale, 0.5))]
    claims.append({**claims[1], "where": "ch02", "value": 0.97, "holds": True})
    (tmp_path / "sweep.json").write_text(json.dumps({"runs": [old, stale], "claims": claims}))
    assert portability.main(["--configs", "aten-default", "--seeds", "2", "--out", "sweep",
                             "--append"]) == 0
    state = json.loads((tmp_path / "sweep.json").read_text())
    assert [(r["config"], r["seed"]) for r in state["runs"]] == [("native", 1),
                                                                 ("aten-default", 2)]
    # the re-run of ch01 replaced its failure and its claims; ch02's stayed
    assert state["runs"][1]["labs"] == {"ch01": "ok", "ch02": "ok"}
    assert sorted(c["value"] for c in state["claims"]) == [0.95, 0.97]
    text = (tmp_path / "sweep.md").read_text()
    assert "seeds 1, 2." in text and "| native | — | 1 | 1/1 |" in text


def test_portability_flags_a_claim_whose_bound_moves_between_runs():
    import portability

    claims = [{"where": "ch10_seq2seq", "name": "edits with attention", "value": 1.3,
               "bound": f"< {b}", "holds": True, "config": "native", "seed": s}
              for s, b in ((0, 1.94), (1, 1.98))]
    claims.append({**claims[0], "name": "fixed", "bound": "> 0.5"})
    claims.append({**claims[2], "seed": 1})
    assert portability.moving_bounds(claims) == [("ch10 page", "edits with attention",
                                                  ["< 1.94", "< 1.98"])]
    text = portability.report([], claims)
    assert "- ch10 page: edits with attention (< 1.94, < 1.98)" in text
    assert "| ch10 page | edits with attention | < 1.94 / < 1.98 | 1.3 | 1.3 | 2 | yes |" in text
    assert "| ch10 page | fixed | > 0.5 | 1.3 | 1.3 | 2 | yes |" in text


def test_determinism_compares_every_output_and_names_the_first_cell_that_moved():
    import determinism

    loss = {"output_type": "stream", "name": "stdout", "text": "loss 0.412\n"}
    figure = {"output_type": "display_data", "data": {"image/png": "A" * 1000,
                                                      "text/plain": "<Figure>"}}
    moved = {**loss, "text": "loss 0.413\n"}
    assert determinism.fingerprint(loss) == "stream:stdout:loss 0.412\n"
    assert determinism.fingerprint(figure) != determinism.fingerprint(
        {**figure, "data": {**figure["data"], "image/png": "A" * 999 + "B"}})
    same = [[determinism.fingerprint(loss)], [determinism.fingerprint(figure)]]
    assert determinism.compare([same, same, same]) == (2, 2, None)
    other = [[determinism.fingerprint(moved)], same[1]]
    assert determinism.compare([same, same, other]) == (2, 1, 0)
    assert determinism.compare([same, same[:1]]) == (2, 0, 0)  # a run with a cell fewer
    with pytest.raises(SystemExit):
        determinism.main(["--runs", "1", "--no-write"])
    one = {"output_type": "stream", "name": "stdout", "text": "a\nb\n"}
    cut = [{**one, "text": "a\n"}, {**one, "text": "b\n"}]
    assert determinism.coalesce(cut) == [one]  # the kernel's messages, not the numbers
    err = {**one, "name": "stderr"}
    assert determinism.coalesce([cut[0], err, cut[1]]) == [cut[0], err, cut[1]]
