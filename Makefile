# The two commands of the README: `make demo` and `make test`. Needs python3 (3.11+), python3-venv, make.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test lint bench venv clean-demo

$(VENV)/.installed: requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $@

venv: $(VENV)/.installed

# The demo: DEBUG off (the portal's Russian error pages), a local secret key and cookies allowed over
# plain http on 127.0.0.1 — on Django's development server, not production's gunicorn and Celery;
# sessions in the process's memory (SQLite's one writer would make each page wait for a run).
# tests/portal/test_demo.py starts the portal with this line.
DEMO_ENV := DEBUG=false SECURE_COOKIES=false SECRET_KEY_FILE=.demo-secret SESSION_ENGINE=django.contrib.sessions.backends.cache

.demo-secret:
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# The portal on SQLite with demo data and the built-in fund emulator, at http://127.0.0.1:$(PORT)
demo: venv .demo-secret
	$(DEMO_ENV) $(PY) manage.py migrate --no-input
	$(DEMO_ENV) $(PY) manage.py seed_demo
	$(DEMO_ENV) $(PY) manage.py rundemo 127.0.0.1:$(PORT)

# The whole suite. Tiers: browser (needs `chromium` on PATH), postgres (DATABASE_URL=postgres://…),
# amqp (TFOMS_AMQP_URL=amqp://…), redis (Celery processes; redis on 127.0.0.1:6379). A tier whose
# service is missing is skipped with the reason; CI (.ci/run) provides all of them and allows no skip.
test: venv
	DEBUG=true $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy .

# Benchmarks (tests/benchmarks/): each prints its figure next to a bare baseline measured in the same run.
# They need DATABASE_URL on PostgreSQL and TFOMS_AMQP_URL; the journal dataset stays in BENCH_DATABASE_URL.
bench: venv
	DEBUG=true $(PY) -m pytest tests/benchmarks -s -q -p no:cacheprovider $(PYTEST_ARGS); \
	  code=$$?; if [ $$code -ne 0 ] && [ $$code -ne 5 ]; then exit $$code; fi
	DEBUG=true $(PY) tests/benchmarks/journal_bench.py

clean-demo:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm
