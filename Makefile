# The two front doors: `make run` (Cruddur on :4567 and :3000) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup backend

run: setup
	cd backend-flask && ../$(BIN)/gunicorn app:app

test: setup
	$(BIN)/pytest

setup: $(VENV)/.installed

# Reinstalled whenever a requirements file changes.
$(VENV)/.installed: backend-flask/requirements.txt tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@
