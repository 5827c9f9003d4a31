# The two commands a newcomer needs: `make run` (the whole exchange) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: run test lint lock bench-engine core-native core-pure npm-deps

# Every package of the tree, pinned with its hashes (requirements*.lock, made from the
# requirements*.txt that name what the project uses: `make lock`).
$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.installed-test: requirements-test.lock $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-test.lock
	@touch $@

run: $(VENV)/.installed core-native npm-deps
	@scripts/run.sh

test: $(VENV)/.installed-test core-native npm-deps
	@scripts/test.sh

# The lock files again from the requirements*.txt (newest versions that fit): review, then test.
lock: $(VENV)/.installed-test
	$(VENV)/bin/pip install --quiet pip-tools
	for name in requirements requirements-test requirements-native; do \
	  $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	    --no-emit-find-links --output-file $$name.lock $$name.txt || exit 1; \
	done

lint: $(VENV)/.installed-test
	ruff check . && ruff format --check . && lint-imports

bench-engine: $(VENV)/.installed core-native
	python bench/engine_core.py

# The engine core compiled with mypyc (the same .py sources; needs a C compiler): `make run` and
# `make test` build it, and run on pure Python, saying so, when it cannot be built. The build is
# redone whenever a file of engine/core changes; a build that does not match the sources is
# ignored at import anyway (engine/core/native.py). `make core-pure` removes it.
CORE_SOURCES := $(wildcard engine/core/*.py)
CORE_BUILD := engine/core/_native_build.txt

$(VENV)/.installed-native: requirements-native.lock $(VENV)/.installed
	@$(VENV)/bin/pip install --quiet --require-hashes -r requirements-native.lock \
	  || echo "engine core: mypy could not be installed; the core will run on pure Python"
	@touch $@

$(CORE_BUILD): $(CORE_SOURCES) scripts/build_core.py $(VENV)/.installed-native
	@python scripts/build_core.py || echo "engine core: the compiled build failed; running on pure Python"

core-native: $(CORE_BUILD)

core-pure:
	python scripts/build_core.py --clean

# The trading page's browser library (lightweight-charts) and the Node examples' websocket client
# (ws), installed by npm from package.json and package-lock.json into node_modules/ (never
# committed); Django serves the chart library as a static file. Redone when the lock file changes.
# Without npm, one line says so and the page runs without its chart (the Node examples' tests skip).
NPM_STAMP := node_modules/.package-lock.json

$(NPM_STAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: the trading page's chart library and the Node examples' ws are not installed (install Node.js and npm for them)"; \
	elif npm ci --no-audit --no-fund --loglevel=error >/dev/null; then \
	  touch $@; \
	else \
	  echo "npm ci failed: the trading page's chart library and the Node examples' ws are not installed (see the error above)"; \
	fi

npm-deps: $(NPM_STAMP)
