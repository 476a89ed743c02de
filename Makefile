# Each target bootstraps its own virtualenv in .venv (idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint run migrate bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,postgres,redis]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/pybabel compile --statistics -d locales -D messages

demo: install
	$(BIN)/python -m bot demo

test: install lint
	$(BIN)/python -m pytest -q

# The checked rules: ruff, the import layering (import-linter contracts in pyproject.toml) and
# the types of the domain and the services (mypy).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

run: install
	$(BIN)/python -m bot run

migrate: install
	$(BIN)/python -m bot migrate

bench: install
	$(BIN)/python bench/routing_accuracy.py
	$(BIN)/python bench/deadline_scan.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) data .pytest_cache
