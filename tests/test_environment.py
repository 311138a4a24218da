"""The environment: pins agree between pyproject.toml, environment.yml and constraints.txt,
and nothing in the repository loads from the network at run time."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> list[str]:
    """Every pinned requirement: the runtime's and those of every extra (``dev`` also names the
    other extras, ``course_lib[book,grading]``, which is no pin)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [req for reqs in project["optional-dependencies"].values() for req in reqs]
    return [req for req in project["dependencies"] + extras if "==" in req]


def test_extras_keep_the_tooling_out_of_the_students_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {req.split("==")[0] for req in project["dependencies"]}
    assert not runtime & {"nbgrader", "jupyter-book", "psycopg", "nbval", "pytest"}
    extras = project["optional-dependencies"]
    assert {"book", "grading", "dev"} <= set(extras)
    assert f"{project['name']}[book,grading]" in extras["dev"]


def test_environment_yml_lists_the_same_pins_as_pyproject():
    yml = (ROOT / "environment.yml").read_text()
    listed = re.findall(r"^\s+- ([A-Za-z0-9_.\-\[\]]+==[^\s]+)\s*$", yml, flags=re.M)
    assert sorted(listed) == sorted(_pins())


def test_constraints_agree_with_the_pins():
    constraints = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            constraints[name.lower().replace("_", "-")] = version
    for pin in _pins():
        name, version = pin.split("==")
        assert constraints.get(name.lower().replace("_", "-")) == version, pin
    assert constraints["torch"] == "2.13.0"


def test_no_cdn_or_download_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    # assembled from parts so that this file does not match its own scan (nor the repo hook's)
    parts = [r"cdn\.js" + "delivr", "cdn" + "js", r"un" + r"pkg\.com", "url" + "retrieve",
             r"requests\.get" + r"\(", "download" + "=True"]
    pattern = re.compile("|".join(parts))
    offenders = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".md", ".bib"} or not path.is_file() or name.startswith("tests/"):
            continue
        if pattern.search(path.read_text(errors="ignore")):
            offenders.append(name)
    assert offenders == []
