# The study's two commands. Both create .venv from the pinned lock file on first use.
#   make book    execute every chapter with papermill and build book/_build/html
#   make test    run the test suite
#   make check-book  open every page of the built book in headless Chromium
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_vendor/mathjax/tex-chtml.js
PROFILE ?= cpu

.PHONY: test test-slow book check-book setup clean lock

test: $(STAMP)
	$(PY) -m pytest

# End-to-end tests that take minutes (CI runs them too).
test-slow: $(STAMP)
	$(PY) -m pytest -m slow

book: $(STAMP) $(MATHJAX)
	$(PY) -m analysis book --profile $(PROFILE)

# Open every page of the built book in headless Chromium (Debian's `chromium` package):
# fails on console errors, broken images or links, and requests that leave the machine.
check-book: $(STAMP)
	$(PY) -m analysis.browser_check

setup: $(STAMP) $(MATHJAX)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

# MathJax is served from the book itself so that pages render math offline.
$(MATHJAX):
	rm -rf build/mathjax && mkdir -p build/mathjax book/_vendor
	cd build/mathjax && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	rm -rf book/_vendor/mathjax && cp -r build/mathjax/package/es5 book/_vendor/mathjax
	find book/_vendor/mathjax -maxdepth 1 -name '*.js' ! -name tex-chtml.js -delete

# Re-pin every package after changing pyproject.toml (needs the package registry).
lock:
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet -e '.[dev]'
	build/lockenv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf book/_build book/notebooks
