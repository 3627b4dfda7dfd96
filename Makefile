# Two commands for a new user: `make run` and `make test`.
# Both create .venv on first use; later runs reuse it (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# The exact pin picks the CPU wheel; see README for the CUDA build.
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test,sweep,tensorboard]"
	touch $(STAMP)

run: $(STAMP)
	@# Linux: name any missing X11/xcb system library and the one apt-get line that installs them
	@$(PY) -m gui.xcb_check
	MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_TRIM_THRESHOLD_=268435456 $(PY) main.py

# If pytest dies in native code (no report of its own), say which test was running.
test: $(STAMP) lint
	@mkdir -p build
	QT_QPA_PLATFORM=offscreen NNP_LAST_TEST_FILE=build/last-test.txt $(PY) -m pytest -x -q --durations=15 || { \
		rc=$$?; echo "pytest exited with $$rc; the tests it started last (previous, then current):"; \
		cat build/last-test.txt 2>/dev/null; exit $$rc; }

# Static checks that CI runs too: pyflakes-level errors (ruff) and the architecture's import contracts.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) build *.egg-info
