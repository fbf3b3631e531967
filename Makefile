# SMEV-style integration gateway. `make help` lists the targets.
SHELL := /bin/bash
# The interpreter of .venv: the distribution's own /usr/bin/python3 when it is 3.11 or newer and
# can build the native transform (venv and the headers present), else python3 from PATH. Debian's
# python3 carries libpython in the executable; a build with --enable-shared and without
# --enable-optimizations (pyenv's default) cost 8-18 % more CPU and 7 % more instructions per
# envelope (docs/performance.md, «The interpreter»). `make install PYTHON=...` chooses another.
SYSTEM_PYTHON_OK = $(shell /usr/bin/python3 -c 'import sys, sysconfig, os, venv, ensurepip; sys.exit(not (sys.version_info >= (3, 11) and os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))))' 2>/dev/null && echo yes)
PYTHON ?= $(if $(SYSTEM_PYTHON_OK),/usr/bin/python3,python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PostgreSQL used by the second test run (each run creates and drops its own schema).
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# length of one `make chaos` run (each database) and of `make soak`, in seconds
CHAOS_SECONDS ?= 300
SOAK_SECONDS ?= 1800

# `make bench`: extra runs by business payload size and by attachment size (e.g. 1k,16k,256k,1m;
# empty: none), two nodes on one PostgreSQL when BENCH_NODES=2, anything else in BENCH_ARGS
BENCH_SIZES ?=
BENCH_ATTACHMENTS ?=
BENCH_NODES ?= 1
BENCH_ARGS ?=

# `make fuzz`: seconds of mutated SOAP envelopes, and schemathesis cases per REST operation
FUZZ_SECONDS ?= 600
FUZZ_API_EXAMPLES ?= 2000
FUZZ_SEED ?= 20261206


.DEFAULT_GOAL := help
.PHONY: help install setup run serve demo test test-sqlite test-postgres fuzz bench perf-check conformance chaos soak screenshots system-test-deps clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# the first `make run` spends minutes here: say what is happening, and let pip list what it fetches
$(STAMP): setup.cfg pyproject.toml setup.py signing/_smev_native.c
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip, setuptools and wheel in $(VENV)"
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	@echo "==> installing the gateway and its pinned dependencies (a few minutes the first time)"
	$(BIN)/pip install --progress-bar off -e '.[test]'
	@echo "==> $(VENV) ready"
	touch $(STAMP)

install: $(STAMP) ## Create .venv (with /usr/bin/python3 when it is 3.11+, else python3; PYTHON=... overrides) and install the project with its pinned dependencies; builds the native SMEV transform (needs gcc and the Python headers, fails loudly without)

setup: install ## Create the demo PKI, keys, trust store and SQLite database in var/ (idempotent)
	$(BIN)/gateway setup

run: install ## Set everything up and start the gateway on 127.0.0.1:8080 (gunicorn)
	$(BIN)/gateway run

demo: install ## Send signed demo requests to the running gateway and print the receipts
	$(BIN)/gateway demo

system-test-deps: ## Install the tools the tests cross-check with (xmlsec1, gsoap), the GOST engine and Chromium
	@if ! command -v xmlsec1 >/dev/null || ! command -v wsdl2h >/dev/null || \
	    ! openssl engine gost >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -qq xmlsec1 gsoap libengine-gost-openssl >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && \
	      apt-get install -y -qq xmlsec1 gsoap libengine-gost-openssl >/dev/null)); \
	  else echo "warning: install xmlsec1 and gsoap (Debian packages) for the cross-check tests"; fi; \
	fi
	@openssl engine gost >/dev/null 2>&1 || echo "warning: GOST R 34.10/34.11-2012 is unavailable \
	(install the Debian package libengine-gost-openssl as root); the GOST tests will fail"
	@# the browser tests (tests/browser, make screenshots) drive Debian's Chromium; no browser download
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "error: /usr/bin/chromium is missing: run make system-test-deps as root (Debian packages chromium, chromium-driver)" >&2; \
	    exit 1; \
	  fi; \
	  log=$$(mktemp); \
	  if ! (apt-get install -y -qq chromium chromium-driver >$$log 2>&1 || \
	        (apt-get update -qq >>$$log 2>&1 && apt-get install -y -qq chromium chromium-driver >>$$log 2>&1)); then \
	    cat $$log >&2; rm -f $$log; echo "error: apt-get could not install chromium and chromium-driver" >&2; exit 1; \
	  fi; \
	  rm -f $$log; \
	fi

test: install system-test-deps ## Run the whole suite on SQLite, then again on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install ## Run the suite on SQLite only
	GATEWAY_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install ## Run the suite on PostgreSQL only (TEST_POSTGRES_URL)
	GATEWAY_TEST_DB=postgres GATEWAY_TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest $(PYTEST_ARGS)

fuzz: install ## Fuzz the SOAP pipeline for FUZZ_SECONDS (600) and the REST API (schemathesis); crashes go to tests/fuzz/regressions/
	GATEWAY_TEST_DB=sqlite FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) \
	FUZZ_API_EXAMPLES=$(FUZZ_API_EXAMPLES) $(BIN)/pytest -p no:cacheprovider -s tests/fuzz $(PYTEST_ARGS)

bench: install ## gunicorn and granian x RSA/ECDSA/GOST x SQLite/PostgreSQL: envelopes/s, p50/p99/p999, CPU, lock hold, load; then sign/verify per envelope (GOST 256/512 too); BENCH_SIZES, BENCH_ATTACHMENTS, BENCH_NODES
	$(BIN)/python -m gateway.ops.bench --postgres $(TEST_POSTGRES_URL) --nodes $(BENCH_NODES) \
	  --servers gunicorn,granian --keep-alive \
	  --sizes "$(BENCH_SIZES)" --attachments "$(BENCH_ATTACHMENTS)" --parts $(BENCH_ARGS)

perf-check: install ## Count instructions per envelope with callgrind; fail >10% over perf-budget.json
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get install -y -qq valgrind >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq valgrind >/dev/null)); } || true
	$(BIN)/python -m gateway.ops.perfcheck

conformance: setup ## Check every case of conformance/ offline through the validator (JUnit in var/conformance.xml)
	$(BIN)/gateway conformance run --offline --revocation soft-fail --junit var/conformance.xml

chaos: install ## SIGKILL workers and nodes under resending clients (SQLite, PostgreSQL), then two nodes on PostgreSQL; CHAOS_SECONDS
	$(BIN)/python -m gateway.ops.chaos --seconds $(CHAOS_SECONDS) --postgres $(TEST_POSTGRES_URL)

soak: install ## Drive the gateway at 70% of its measured capacity for SOAK_SECONDS; print errors and worker RSS growth
	$(BIN)/python -m gateway.ops.soak --seconds $(SOAK_SECONDS)

screenshots: install system-test-deps ## Write one PNG per console page to docs/console/ (Chromium, the demo's data)
	GATEWAY_TEST_DB=sqlite $(BIN)/python tests/browser/screenshots.py docs/console

clean: ## Remove the virtualenv and the local data folder (var/)
	rm -rf $(VENV) var
