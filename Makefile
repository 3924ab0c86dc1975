# The study's two commands. Both create .venv from the pinned lock file on first use.
#   make book    build the profile's artefacts (python -m analysis run), execute every chapter
#                with papermill and build book/_build/html
#   make test    run the test suite
#   make check-book  open every page of the built book in headless Chromium
#   make exercises   student notebooks and answer key for instructors (runs/exercises)
#   make lab         JupyterLab, offline, with book/chapters/*.md opening as notebooks
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_vendor/mathjax/tex-chtml.js
PROFILE ?= cpu
RUN_ARGS ?=

.PHONY: test test-slow book check-book screenshot exercises exercise-runs lab setup clean lock

test: $(STAMP)
	$(PY) -m pytest

# End-to-end tests that take minutes (CI runs them too).
test-slow: $(STAMP)
	$(PY) -m pytest -m slow

# Build the profile's artefacts (skipping what is up to date), then execute the chapters,
# which only read them. RUN_ARGS passes options to `run`, e.g. RUN_ARGS="-o recipe.epochs=5".
book: $(STAMP) $(MATHJAX)
	$(PY) -m analysis run --profile $(PROFILE) $(RUN_ARGS)
	$(PY) -m analysis book --profile $(PROFILE)

# Open every page of the built book in headless Chromium (Debian's `chromium` package):
# fails on console errors, broken images or links, and requests that leave the machine.
check-book: $(STAMP)
	$(PY) -m analysis.book.browser_check

# Renew the README's screenshot (book/screenshots/results.png) from the current build.
screenshot: $(STAMP)
	$(PY) -m analysis.book.browser_check --readme-screenshot

# The instructor bundle: one student notebook per chapter (solutions removed, empty
# answer cells) and the answer key, in runs/exercises/.
exercises: $(STAMP)
	$(PY) -m analysis exercises

# What the results stage reads from the built runs of PROFILE, copied into runs/exercises/,
# where an exercise recomputes it with other settings (ANALYSIS_RUNS_DIR=runs/exercises)
# and the book's stay as they are.
exercise-runs: $(STAMP)
	$(PY) -m analysis exercise-runs --profile $(PROFILE)

# JupyterLab in the project's environment, offline; a chapter source (book/chapters/*.md)
# opens as a notebook on the project's kernel. Options: make lab LAB_OPTIONS=--port=8890
lab: $(STAMP)
	$(PY) -m analysis lab $(LAB_OPTIONS)

setup: $(STAMP) $(MATHJAX)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-cache-dir -c requirements.lock -e '.[dev]'
	touch $@

# MathJax is served from the book itself so that pages render math offline.
$(MATHJAX):
	rm -rf build/mathjax && mkdir -p build/mathjax book/_vendor
	cd build/mathjax && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	rm -rf book/_vendor/mathjax && cp -r build/mathjax/package/es5 book/_vendor/mathjax
	find book/_vendor/mathjax -maxdepth 1 -name '*.js' ! -name tex-chtml.js -delete

# Re-pin after changing pyproject.toml (needs the package registry). Packages already in
# the lock keep their versions; delete a line from requirements.lock to let it move.
lock:
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet -c requirements.lock -e '.[dev]'
	build/lockenv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf book/_build book/notebooks
