# The two commands a newcomer needs: `make run` (the whole exchange) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: run test lint bench-engine

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet -r requirements-test.txt
	@touch $@

run: $(VENV)/.installed
	@scripts/run.sh

test: $(VENV)/.installed-test
	@scripts/test.sh

lint: $(VENV)/.installed-test
	ruff check .

bench-engine: $(VENV)/.installed
	python bench/engine_core.py
