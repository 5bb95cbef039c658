# The two commands of the README: `make demo` and `make test`. Both set everything up first (idempotent).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# bpy 5.0.1 exists only for Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
SHARED ?= ../shared

.PHONY: help setup demo serve bench test lint format clean

help:
	@echo "make demo    set up, then run the main job on the bundled sample clip"
	@echo "make test    set up, then lint, type-check and run the whole test suite"
	@echo "make setup   create .venv, install everything, build the MediaPipe pose model"
	@echo "make serve   set up, then start the local server (ARGS=\"--port 8765 ...\")"
	@echo "make bench   set up, then the quick benchmarks (JSON in runs/bench/; ARGS=--full for all)"
	@echo "make lint    ruff (lint + format check) and mypy"

setup: $(STAMP)
	@$(PY) scripts/build_pose_model.py --shared $(SHARED)/models

$(STAMP): pyproject.toml constraints.txt scripts/ensure_system_libs.sh
	@bash scripts/ensure_system_libs.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else \
		"error: Python 3.11 is required (bpy 5.0.1 exists only for 3.11); found " + sys.version.split()[0] + \
		". Install it, or run: make PYTHON=/path/to/python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (first time: a few minutes, about 3 GB)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

demo: setup
	@$(PY) scripts/demo.py

serve: setup
	$(PY) -m server $(ARGS)

bench: setup
	$(PY) benchmarks/run_all.py $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# pytest exits 5 when it collects no tests: that fails the target like any other non-zero code.
test: lint
	$(PY) -m pytest

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache finepose_core/assets/*.task
