"""``python -m course_tools.grading SUBMISSIONS --lab ch01 [--out DIR] [--workers N]
[--scheduler tcp://HOST:8786] [--roster FILE] [--canvas-assignment TITLE] [--db URL]
[--timeout S] [--budget S] [--rules zero|flag] [--regrade] [--root DIR]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from course_tools.grading.batch import grade_folder
from course_tools.grading.export import export_batch, read_roster
from course_tools.grading.rules import POLICIES
from course_tools.grading.run import PreflightFailed, preflight
from course_tools.grading.spec import LabSpec
from course_tools.paths import add_root_option, find_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.grading",
                                     description="Grade a folder of submitted notebooks.")
    parser.add_argument("submissions", type=Path, nargs="?", help="folder of submissions")
    parser.add_argument("--check-master", action="store_true",
                        help="only grade the master lab in the sandbox (the preflight every "
                             "batch runs first) and print its time")
    parser.add_argument("--lab", required=True, help="lab id, e.g. ch01 (a folder of solutions/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <root>/grades)")
    parser.add_argument("--roster", type=Path,
                        help="the class: a CSV file student,platform_id,name[,sis_user_id,"
                             "sis_login_id,section] (also writes OUT/canvas.csv and "
                             "OUT/per-question.csv; course_tools.grading.export), or a text "
                             "file of one student id per line")
    parser.add_argument("--canvas-assignment", metavar="TITLE",
                        help="header of canvas.csv's grade column (default: the lab id); "
                             "'Lab 3 (12345)' names an existing Canvas assignment by its id")
    parser.add_argument("--timeout", type=float, default=60,
                        help="time limit of each cell and each call in seconds")
    parser.add_argument("--budget", type=float, default=None,
                        help="wall-clock limit of one whole submission in seconds (default: "
                             "3 times the master's own time, at least 120)")
    parser.add_argument("--rules", choices=POLICIES, default="zero",
                        help="what breaking an exercise's from-scratch rule (e.g. 'numpy "
                             "only') costs: zero the question, or flag it for review "
                             "(default: zero)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scheduler", metavar="tcp://HOST:8786",
                        help="grade on this Dask distributed scheduler's workers, one task per "
                             "submission, instead of --workers local processes "
                             "(book/instructors.md, Big classes)")
    parser.add_argument("--db", help="SQLAlchemy URL of the gradebook (default: out/gradebook.db)")
    parser.add_argument("--regrade", action="store_true", help="ignore stored results")
    parser.add_argument("--similarity", action="store_true",
                        help="also write OUT/similarity.html: pairs of submissions with alike "
                             "exercise cells (course_tools.grading.similarity)")
    parser.add_argument("--solutions", type=Path, default=None, help=argparse.SUPPRESS)
    add_root_option(parser)
    args = parser.parse_args(argv)
    roster = None
    if args.roster:
        try:
            roster = read_roster(args.roster)
        except ValueError as exc:
            parser.error(str(exc))
    if args.submissions is None and not args.check_master:
        parser.error("the folder of submissions is required (or --check-master)")
    try:
        if args.check_master:
            solutions = args.solutions or find_root(args.root) / "solutions"
            spec = LabSpec(args.lab, solutions)
            seconds = preflight(spec, args.timeout, policy=args.rules)
            print(f"{args.lab}: the master earns {sum(spec.max_scores.values()):g} / "
                  f"{sum(spec.max_scores.values()):g} in the sandbox, no rule broken, in "
                  f"{seconds:.1f} s")
            return 0
        if args.out is None or args.solutions is None:
            root = find_root(args.root)
            args.out = root / "grades" if args.out is None else args.out
            args.solutions = root / "solutions" if args.solutions is None else args.solutions
        batch = grade_folder(args.submissions, args.lab, args.out,
                             roster=roster.students if roster else None,
                             cell_timeout=args.timeout, workers=args.workers, db_url=args.db,
                             solutions=args.solutions, regrade=args.regrade, budget=args.budget,
                             policy=args.rules, scheduler=args.scheduler)
    except (ValueError, PreflightFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(batch.summary)
    print(f"wrote {args.out / 'grades.csv'} and {args.out / 'feedback'}/")
    if roster is not None:
        print(export_batch(args.out, args.lab, batch.results, args.solutions, roster,
                           args.canvas_assignment))
    if args.similarity:
        from course_tools.grading.similarity import report_and_write
        print(report_and_write(args.submissions, args.lab, args.out, find_root(args.root)))
    return 0
