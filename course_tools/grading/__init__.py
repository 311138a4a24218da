"""Batch grading: a folder of submitted notebooks -> grades.csv, per-student feedback and
nbgrader's gradebook (SQLite by default, PostgreSQL or any SQLAlchemy URL with ``--db``).

How one submission is graded (the grader is trusted, the submission is not):

1. The notebook is read once into memory (the original is never opened for writing) and
   checked: valid JSON and nbformat, not larger than 20 MB, and from this lab.
2. Its code cells run, one by one, in a fresh IPython kernel in a sandbox
   (:mod:`course_tools.sandbox`: bubblewrap, no network, an unprivileged uid, no view of the
   course's files, the gradebook or other submissions; limits on memory, CPU time, file size,
   processes, output and wall-clock time per cell). The check cells (``# grade:``) are not run
   there: their hidden tests never enter the student's kernel.
3. For each graded question the grader runs, in its own process, the master's hidden tests
   (``assert check_x(fn, seed=s, quiet=True)``, or plain asserts) and the public check (for
   the feedback), with the student's functions replaced by proxies: each call sends copies of
   the arguments to the kernel and takes back plain arrays and numbers (validated; never
   pickle), so all comparisons use the grader's pristine numpy, torch and ``course_lib``.
   Monkeypatching in the kernel, printing fake results or faking ``CheckResult`` earn nothing.

Status of each row of ``grades.csv``:

==============  ==========================================================================
``graded``      ran to the end; per-question points are in the row
``timed out``   a cell or a call ran past its time limit and was stopped; the points of the
                questions that passed are kept
``kernel died`` the notebook's Python process died (``os._exit``, a crash, out of memory or
                CPU time); no points
``unreadable``  not a valid notebook (bad JSON, wrong format, too large)
``wrong lab``   a notebook of another lab (none of this lab's exercise cells)
``missing``     a student of the roster (or an empty folder) handed in nothing
``error``       the grader could not grade it (e.g. the sandbox did not start); see the message
==============  ==========================================================================

Only ``graded`` and ``timed out`` rows have points: a failed submission is never a plain zero.
A second run reuses the results of unchanged submissions (``out/results/``); ``--regrade``
grades everything again.

Usage: ``python -m course_tools.grading SUBMISSIONS --lab ch01 [--out grades/ch01] [--workers N]
[--roster FILE] [--db URL] [--timeout S] [--regrade] [--root DIR]``
(``make grade SUBMISSIONS=dir LAB=ch01``).

Modules, one job each: :mod:`~course_tools.grading.spec` (the lab's questions from its master,
the fingerprint of everything a grade depends on), :mod:`~course_tools.grading.results`
(:class:`Result`, statuses, the submissions of a folder), :mod:`~course_tools.grading.run`
(one submission), :mod:`~course_tools.grading.reports` (feedback, CSV, summary),
:mod:`~course_tools.grading.gradebook` (nbgrader's gradebook), :mod:`~course_tools.grading.batch`
(a folder, resumable: :func:`grade_folder` returns a :class:`Batch`; locally or on a Dask
cluster with ``--scheduler``), :mod:`~course_tools.grading.cluster` (a scheduler and workers
on 127.0.0.1, for the tests and the benchmark), :mod:`~course_tools.grading.export` (Canvas's
gradebook CSV and a per-question CSV from a roster), :mod:`~course_tools.grading.similarity`
(the similarity report), :mod:`~course_tools.grading.check` (``make check``: a student's dry
run with the public checks only) and :mod:`~course_tools.grading.cli` (the command line).
Hidden tests may be split into named parts (:func:`course_tools.labspec.hidden_parts`), each
with its share of the question's points.
"""

from course_tools.grading.batch import Batch, grade_folder
from course_tools.grading.cli import main
from course_tools.grading.gradebook import (
    _gradebook_template,
    prepare_gradebook,
    record_gradebook,
    tool_env,
)
from course_tools.grading.reports import feedback_html, feedback_text, summary, write_csv
from course_tools.grading.results import (
    STATUSES,
    WITH_POINTS,
    QuestionResult,
    Result,
    find_submissions,
    student_id,
)
from course_tools.grading.run import grade_notebook, grade_one, read_submission
from course_tools.grading.spec import (
    GRADER_VERSION,
    LabSpec,
    Question,
    fingerprint,
    master_notebook,
)

__all__ = ["GRADER_VERSION", "STATUSES", "WITH_POINTS", "Batch", "LabSpec", "Question",
           "QuestionResult", "Result", "feedback_html", "feedback_text", "find_submissions",
           "fingerprint", "grade_folder", "grade_notebook", "grade_one", "main",
           "master_notebook", "prepare_gradebook", "read_submission", "record_gradebook",
           "student_id", "summary", "tool_env", "write_csv", "_gradebook_template"]
