# The two front doors: `make run` (Cruddur on :4567 and :3000) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FRONTEND := frontend-react-js
CHROMIUM := /usr/bin/chromium
WRK := /usr/bin/wrk
# Debian's PostgreSQL server (any major version): the store's tests start throwaway ones of it.
INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
# Where `make run` serves (`make run BACKEND_PORT=5000 FRONTEND_PORT=5001` when these are taken).
BACKEND_PORT ?= 4567
FRONTEND_PORT ?= 3000
# The origins a browser on this machine uses; compose and Gitpod set their own.
export FRONTEND_URL ?= http://localhost:$(FRONTEND_PORT)
export BACKEND_URL ?= http://localhost:$(BACKEND_PORT)

.PHONY: run test test-fast setup bench bench-peers reliability postgresql

# Ctrl-C reaches both servers from the terminal: the recipe waits for them to stop. A SIGTERM to
# make alone is passed on to both (the trap is reset first: `kill 0` signals this shell too).
run: setup
	@trap wait INT; trap 'trap - TERM; kill 0' TERM; \
	(cd backend-flask && PORT=$(BACKEND_PORT) exec ../$(BIN)/gunicorn app:app) & \
	(cd $(FRONTEND) && PORT=$(FRONTEND_PORT) VITE_BACKEND_URL=$(BACKEND_URL) exec npm run dev) & \
	wait

test: setup $(CHROMIUM) $(WRK) postgresql
	$(BIN)/python -m bench.agents otel
	cd $(FRONTEND) && npm run lint && npm test
	$(BIN)/pytest -n 2 --dist loadgroup -m "not generated"
	$(BIN)/pytest -m generated

# The unit tests and the app through Flask's test client: no process started, about 25 s.
test-fast: setup
	$(BIN)/pytest -n 2 --dist loadgroup -m "not live and not e2e and not reliability"

setup: $(VENV)/.installed $(FRONTEND)/node_modules/.installed

# The benchmark of issues 6 and 12: see docs/benchmarks.md. Its PostgreSQL rows start their own server.
bench: setup $(WRK) postgresql bench-peers
	$(BIN)/python -m bench

# The peers' virtualenvs (bench/agents/*.txt), each reinstalled only when its pins change;
# `make test` installs the OpenTelemetry agent's alone, for the benchmark's smoke test.
bench-peers: setup
	$(BIN)/python -m bench.agents

# The reliability suite with its long counts (the 50,000-request load, 8 turns of healthy and
# failing per fault case), its figures written to docs/reliability.md; one process, so the figures
# are the machine's alone. `make test` runs the same cases with short counts; CI does not run this.
reliability: setup
	RELIABILITY_FULL=1 RELIABILITY_REPORT=docs/reliability.md $(BIN)/pytest -m reliability

# Each is reinstalled whenever its pins change.
$(VENV)/.installed: backend-flask/requirements.txt tests/requirements.txt tests/requirements-devenv.txt tests/e2e/requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r tests/requirements.txt -r bench/requirements.txt
	touch $@

$(FRONTEND)/node_modules/.installed: $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium for the end-to-end tests (Playwright's own browser download cannot
# work here). Where it cannot be installed, the e2e tests skip, and fail under CI=true.
$(CHROMIUM):
	-apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium

# wrk drives the benchmark and its smoke test.
$(WRK):
	-apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk

# The store's tests run against real PostgreSQL servers of their own (tests/peers/postgres.py).
# Where it cannot be installed, they skip, and fail under CI=true.
postgresql:
ifeq ($(INITDB),)
	-apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql
endif
