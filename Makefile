# Recurrent Neural Networks, a lecture companion: the commands.
#   make book     build the website into _build/html (executes every page, two at a time)
#   make test     install what is missing, lint, run every test, build and browse the site
#   make student  regenerate notebooks/ from solutions/ (make solutions: execute them first)
#   make lab      start JupyterLab on the labs
#   make check NB=notebooks/ch03/ch03_lab.ipynb   will it be graded? (run as the grader does)
#   make slides   reveal.js slides of every chapter and lab, offline, into _build/slides
#   make grade SUBMISSIONS=dir LAB=ch01   grade a folder of submissions into grades/
#   make bench    time the course (tables in benchmarks/results/; BENCH_ARGS="--only layers")
#   make portability  labs and pages under four numeric configurations (benchmarks/results/)
#   make determinism  every lab three times on this machine: all outputs must be identical
#   make clean    remove builds and caches (keeps .venv and node_modules)
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
VENDOR := _vendor
LAB ?= ch01
SUBMISSIONS ?=
WORKERS ?= 2
export PYTHONHASHSEED := 0

.PHONY: help install book test lint unit nbval portability determinism browser student solutions student-check lab check slides grade bench clean lock

help:
	@sed -n '2,12p' Makefile | sed 's/^# *//'

# --- installation (idempotent; from nothing on a fresh machine) ------------------------------
# .[dev] is everything: the runtime (what students need), the [book] and [grading] extras and
# the test tools. pip byte-compiles the modules it installs one after another (torch's
# thousands included); --no-compile and then compileall on every core is faster. (The bytecode
# must be there: with PYTHONDONTWRITEBYTECODE set, nothing compiled on import is kept, and
# every test run would compile torch again.) Times: book/benchmarks.md.
$(STAMP): pyproject.toml constraints.txt
	@start=$$(date +%s); \
	fresh=0; test -x $(PY) || { $(PYTHON) -m venv $(VENV); fresh=1; }; \
	echo "Installing the course environment into $(VENV) (a few minutes the first time)..."; \
	$(PY) -m pip install --quiet --upgrade "pip>=24"; \
	$(PY) -m pip install --quiet --no-compile -c constraints.txt -e ".[dev]"; \
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null || \
	  echo "(a few files are for newer Pythons and were not byte-compiled)"; \
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null; \
	if [ $$fresh = 1 ]; then echo $$(( $$(date +%s) - start )) > $(VENV)/install-seconds; fi; \
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.stamp: $(NODE_STAMP)
	rm -rf $(VENDOR) $(VENDOR)_extra && mkdir -p $(VENDOR)
	cp node_modules/requirejs/require.js $(VENDOR)/require.min.js
	cp node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js $(VENDOR)/
	cp node_modules/@jupyter-widgets/html-manager/dist/*.{woff,woff2,ttf,eot,svg} $(VENDOR)/
	# embed-amd.js asks for its icon fonts relative to the page (book/@jupyter-widgets/...);
	# html_extra_path copies this tree to the site root so they are found offline.
	for d in $(VENDOR)_extra/book/@jupyter-widgets $(VENDOR)_extra/book/@jupyter-widgets/html-manager/dist; do \
	  mkdir -p $$d && cp node_modules/@jupyter-widgets/html-manager/dist/*.{woff,woff2,ttf,eot,svg} $$d/; done
	touch $@

install: $(STAMP) $(VENDOR)/.stamp

# --- the site -----------------------------------------------------------------------------
# SOLUTIONS_ON_SITE=1 publishes the master labs next to the student labs (after the deadline).
SOLUTIONS_ON_SITE ?= 0
book: install
	@mkdir -p _build
	@toc=_toc.yml; \
	if [ "$(SOLUTIONS_ON_SITE)" = 1 ]; then \
	  toc=$$($(PY) -m course_tools.authoring --toc-with-solutions _build/_toc_with_solutions.yml); \
	  echo "Publishing solutions on the site ($$toc)"; \
	else rm -rf _build/html/solutions _build/_toc_with_solutions.yml; fi; \
	$(PY) -m course_tools.prebuild --toc $$toc; \
	$(BIN)/jupyter-book build -W -n --keep-going --toc $$toc . 2>&1 | tee _build/book.log || \
	  { echo "Book build failed; see _build/book.log and _build/html/reports/"; exit 1; }
	@echo "Site built: file://$(CURDIR)/_build/html/index.html"

# --- tests --------------------------------------------------------------------------------
lint: install
	$(BIN)/ruff check course_lib course_tools tests benchmarks solutions

student: install
	$(PY) -m course_tools.authoring

# Execute master labs in place (LABS="ch01 ch02"; all by default), then regenerate notebooks/.
solutions: install
	$(PY) -m course_tools.authoring --execute $(LABS)

student-check: install
	$(PY) -m course_tools.authoring --check

unit: install
	bash tests/install_grading.sh
	$(BIN)/pytest -n 2 --dist loadfile -m "not browser" tests

# Strict nbval of the master labs under a foreign numeric configuration (NBVAL_ENV: torch's
# plain kernels instead of this CPU's best), so a stored output that holds on one machine only
# fails here too; then the student labs, unfinished, natively. Both always run; the failures of
# both are listed at the end.
NBVAL_ENV ?= ATEN_CPU_CAPABILITY=default
nbval: install
	@mkdir -p _build; status=0; \
	echo "Strict nbval of solutions/ with $(NBVAL_ENV)"; \
	env $(NBVAL_ENV) $(BIN)/pytest -n 2 --dist loadfile -p no:randomly --nbval \
	  --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg solutions \
	  2>&1 | tee _build/nbval-solutions.log || status=1; \
	echo "Lax nbval of the student labs in notebooks/ (unfinished)"; \
	$(BIN)/pytest -n 2 --dist loadfile -p no:randomly --nbval-lax --nbval-current-env notebooks \
	  2>&1 | tee _build/nbval-notebooks.log || status=1; \
	if [ $$status != 0 ]; then echo "nbval failures (solutions with $(NBVAL_ENV), then notebooks):"; \
	  grep -h '^FAILED' _build/nbval-solutions.log _build/nbval-notebooks.log || true; fi; \
	exit $$status

# The portability matrix: strict nbval of every lab and every page executed under four numeric
# configurations (PORTABILITY_ARGS="--seeds 0 1 2 3 4" for the seed sweep); writes
# benchmarks/results/portability.md, shown on the Benchmarks page.
portability: install
	$(PY) benchmarks/portability.py $(PORTABILITY_ARGS)

# Same-machine determinism: every master lab executed three times, every output compared (the
# trained numbers strict nbval ignores included); writes benchmarks/results/determinism.md.
determinism: install
	$(PY) benchmarks/determinism.py $(DETERMINISM_ARGS)

browser: install
	bash tests/install_chromium.sh
	$(BIN)/pytest -m browser tests

# nbval and the browser tests run side by side (faster than one after the other on two cores;
# the benchmarks table has the times); --output-sync prints each one's output whole when it ends.
# (notebooks/ in sync with solutions/, make student-check, is a unit test.)
# (install with -j2: pip and npm ci side by side on a fresh machine)
test:
	$(MAKE) -j2 install
	@mkdir -p _build
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) book
	$(MAKE) -j2 --output-sync=target nbval browser

# --- classroom ----------------------------------------------------------------------------
lab: install
	$(BIN)/jupyter lab notebooks/

# A student's notebook run as the grader runs it (its sandbox, a clean kernel, its limits),
# public checks only: the status, each exercise's check, what would cost points (CHECK_ARGS:
# e.g. "--lab ch03 --no-sandbox"; without bubblewrap it runs unsandboxed and says so).
check: install
	@test -n "$(NB)" || { echo "usage: make check NB=notebooks/ch03/ch03_lab.ipynb"; exit 2; }
	$(PY) -m course_tools.grading.check "$(NB)" $(CHECK_ARGS)

# Slides for class (CHAPTERS="ch07 ch08"; all by default): chapters take their figures from the
# book build's cache (make book first), labs are shown as released. Open the .slides.html files.
slides: install
	$(PY) -m course_tools.slides --out _build/slides $(CHAPTERS)

# GRADE_ARGS passes more options, e.g. GRADE_ARGS="--rules flag --budget 300".
grade: install
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder LAB=ch01"; exit 2; }
	@bash tests/install_grading.sh bubblewrap
	$(PY) -m course_tools.grading "$(SUBMISSIONS)" --lab $(LAB) --out grades/$(LAB) --workers $(WORKERS) $(GRADE_ARGS)

bench: install
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lock: install
	$(PY) -m pip freeze --exclude-editable | sed 's/+cpu//' | \
	  { echo "# Full resolved environment (pip constraints). Regenerate with: make lock"; cat; } > constraints.txt

clean:
	rm -rf _build grades .pytest_cache $(VENDOR) $(VENDOR)_extra
	find . -name __pycache__ -not -path "./.venv/*" -prune -exec rm -rf {} +
