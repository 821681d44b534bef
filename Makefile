# Setup is idempotent: the venv is (re)built only when pyproject.toml changes.
# torch is pinned and installed first: on this platform torch==2.13.0 is the CPU
# wheel; an unpinned torch (pulled in by snorkel) would bring gigabytes of CUDA.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/labeling run

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# Debian's chromium for tests/test_browser.py (Playwright drives it; `playwright install`
# cannot download here). Idempotent: a no-op when chromium is already installed. On CI
# (CI set) a failed install fails the build; elsewhere, without root, it is skipped with
# a message, and so is the browser test.
browser:
	@command -v chromium >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || { if [ -n "$$CI" ]; then echo "chromium could not be installed on CI" >&2; exit 1; fi; \
	         echo "chromium not installed (needs root): tests/test_browser.py will be skipped"; }

clean:
	rm -rf $(VENV) runs
