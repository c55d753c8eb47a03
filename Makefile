# Tracenet — `make help` lists the targets. Everything installs what it needs on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The npm packages' files the pages load, copied into the web package (see web/assets.py)
# with the lockfile they came from, which doubles as the stamp.
ASSETS := web/static/vendor/package-lock.json
T ?= tests
PYTEST_ARGS ?=
BIND ?= 127.0.0.1:8000
WORKERS ?= 2
WITNESS_BIND ?= 127.0.0.1:8001
WITNESS_NAME ?= witness.localhost/w1

.DEFAULT_GOAL := help
.PHONY: help install system run test bench lint clean

help: ## Show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

# Only when the lockfile (or the list of vendored files) changed, like the Python stamp above.
$(ASSETS): package.json package-lock.json | $(STAMP) system
	npm ci --omit=dev --no-audit --no-fund --loglevel=error
	$(PY) -m web.assets >/dev/null

install: $(STAMP) system $(ASSETS) ## Create the virtualenv, install the Python and npm dependencies

system: ## Install the system packages when missing (zbar; Pango for PDF reports; Node.js + npm for the browser assets; PostgreSQL, Chromium + a CJK font for the tests and the reports' charts)
	@ldconfig -p | grep -q 'libzbar\.so\.0' || { apt-get update -q && apt-get install -y -q libzbar0; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		{ apt-get update -q && apt-get install -y -q postgresql; }
	@# The browser tests drive the system Chromium (never `playwright install`, which downloads
	@# its own); the CJK font makes the console's Chinese render in it.
	@test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -q && apt-get install -y -q fonts-wqy-microhei; }
	@# WeasyPrint prints the white paper to PDF through Pango (and HarfBuzz's subsetter).
	@{ ldconfig -p | grep -q 'libpangoft2-1\.0\.so\.0' && ldconfig -p | grep -q 'libharfbuzz-subset\.so\.0'; } || \
		{ apt-get update -q && apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; }
	@# npm installs the browser assets (package-lock.json); node runs web/static's JS tests.
	@command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }

run: install ## Initialise the SQLite database, ledger key and demo network; serve on http://$(BIND) beside the webhook worker and a local witness
	$(VENV)/bin/tracenet init
	$(VENV)/bin/tracenet demo
	@# gunicorn, the worker (webhooks, checkpoints the cadence makes due, and checkpoints sent
	@# to the witness) and a local C2SP witness on $(WITNESS_BIND), side by side: when any ends,
	@# or make is stopped (Ctrl-C, or a TERM that make passes on), all are stopped.
	witness_key="$${TRACENET_INSTANCE:-instance}/witness_key.pem"; \
	witness_vkey="$$($(VENV)/bin/tracenet witness vkey --name $(WITNESS_NAME) --key "$$witness_key")"; \
	$(VENV)/bin/tracenet witness serve --name $(WITNESS_NAME) --key "$$witness_key" \
		--bind $(WITNESS_BIND) --workers 1 & witness=$$!; \
	TRACENET_WITNESSES="$${TRACENET_WITNESSES:-$$witness_vkey http://$(WITNESS_BIND)}" \
		$(VENV)/bin/tracenet worker & worker=$$!; \
	$(VENV)/bin/gunicorn --bind $(BIND) --workers $(WORKERS) wsgi:app & server=$$!; \
	trap 'kill $$worker $$server $$witness 2>/dev/null; wait' EXIT INT TERM; \
	wait -n

test: install ## Run the whole suite (T=path to pick tests)
	$(PY) -m pytest $(T) $(PYTEST_ARGS)

bench: install ## Run the benchmarks and print their ratios (results: docs/BENCHMARKS.md)
	$(PY) bench/ledger.py
	$(PY) bench/api.py
	$(PY) bench/startup.py
	$(PY) bench/trace.py
	$(PY) bench/incident.py
	$(PY) bench/recall.py
	$(PY) bench/outbox.py
	$(PY) bench/decode.py
	$(PY) bench/risk.py
	$(PY) bench/serials.py
	$(PY) bench/lookup.py
	$(PY) bench/epcis_wire.py
	$(PY) bench/epcis.py
	$(PY) bench/fsma204.py
	$(PY) bench/reports.py
	$(PY) bench/audit.py

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy ledger scanners schemas web wsgi.py

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) node_modules web/static/vendor .pytest_cache .mypy_cache .ruff_cache .hypothesis
