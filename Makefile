# The two commands a newcomer needs: `make run` and `make test`.
# Both install everything they need into .venv first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
REDIS_PORT ?= 6379
# The Procfile's processes `make run` starts (dashboard: rq-dashboard, optional).
PROCESSES ?= web scheduler worker dashboard
export RQFLOW_DATABASE_URL ?= sqlite:///$(CURDIR)/rqflow.db
export RQFLOW_REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)/0

.PHONY: install browser run test test-unit chaos lint bench clean

$(BIN)/rqflow: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/rqflow ## Create .venv and install rqflow with its pinned dependencies.

# The dashboard's browser test drives Debian's Chromium (Playwright's own browser download does not work here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser: ## Install Debian's chromium for the dashboard's browser test, unless it is there.
	@[ -x "$(CHROMIUM)" ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

run: install ## Migrate, make sure Redis answers, and start web + scheduler + worker from the Procfile.
	$(BIN)/rqflow local-redis --port $(REDIS_PORT)
	RQFLOW_LOG_FORMAT=$${RQFLOW_LOG_FORMAT:-text} $(BIN)/rqflow migrate
	@echo ""
	@echo "rqflow is starting: API on http://127.0.0.1:$(PORT), docs on http://127.0.0.1:$(PORT)/docs"
	@echo "metrics on http://127.0.0.1:$(PORT)/metrics; rq-dashboard on http://127.0.0.1:9181 (leave it out: make run PROCESSES='web scheduler worker')"
	@echo "Create a token in another shell:  $(BIN)/rqflow user create alice"
	@echo ""
	@# honcho pipes each process's output, so "auto" would pick JSON: people read this one.
	RQFLOW_LOG_FORMAT=$${RQFLOW_LOG_FORMAT:-text} PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT) $(PROCESSES)

test: install browser ## Run the whole suite (unit, integration against real Redis and Postgres, end-to-end).
	$(BIN)/python -m pytest -q

test-unit: install ## Only the fast unit tests.
	$(BIN)/python -m pytest -q tests/unit

# The long variant of the fault scenarios (tests/e2e/faults; `make test` runs the short one).
CHAOS_KILLS ?= 50
CHAOS_LOG ?= $(CURDIR)/.run/reliability.jsonl

chaos: install ## Fault scenarios, long variant: 50+ scheduler SIGKILLs, freezes, worker kills, Redis loss; figures to $(CHAOS_LOG).
	mkdir -p $(dir $(CHAOS_LOG))
	rm -f $(CHAOS_LOG)
	RQFLOW_CHAOS_KILLS=$(CHAOS_KILLS) RQFLOW_CHAOS_LONG=1 RQFLOW_RELIABILITY_LOG=$(CHAOS_LOG) \
		$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/faults
	@echo "figures of this run: $(CHAOS_LOG) (one JSON line per scenario and database)"

BENCH := PYTHONPATH=platform:. $(BIN)/python

bench: install ## Print benchmark figures, rqflow beside bare rq-scheduler / RQ in the same run (about 25 minutes); asserts nothing.
	$(BENCH) bench/dispatch.py --count 1000
	$(BENCH) bench/dispatch.py --count 10000
	$(BENCH) bench/startup_sync.py --count 10000 --database sqlite
	$(BENCH) bench/startup_sync.py --count 10000 --database postgres
	$(BENCH) bench/startup_sync.py --count 100000 --database sqlite --peer-count 5000
	$(BENCH) bench/startup_sync.py --count 100000 --database postgres --peer-count 5000
	$(BENCH) bench/worker_cost.py --count 500 --database sqlite --worker simple
	$(BENCH) bench/worker_cost.py --count 500 --database postgres --worker simple
	$(BENCH) bench/worker_cost.py --count 200 --database sqlite --worker fork
	$(BENCH) bench/worker_cost.py --count 200 --database postgres --worker fork
	$(BENCH) bench/worker_cost.py --count 500 --database sqlite --worker pool
	$(BENCH) bench/worker_cost.py --count 500 --database postgres --worker pool
	$(BENCH) bench/api_latency.py --database sqlite
	$(BENCH) bench/api_latency.py --database postgres
	$(BENCH) bench/lateness.py --database sqlite postgres --steady-seconds 30 --burst 1000 --workers 2
	$(BENCH) bench/retention.py --database sqlite --rows 1000000
	$(BENCH) bench/retention.py --database postgres --rows 1000000

lint: install ## ruff, mypy (strict) and the layer contracts (import-linter, in pyproject.toml).
	$(BIN)/ruff check platform tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache rqflow.db rqflow.db-wal rqflow.db-shm .run
