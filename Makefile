# Satu Data Paser. `make help` lists the targets. Needs Python 3.11 with pip; uv is installed if missing.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
.PHONY: help venv run test lint bench up down

# uv: on PATH, else where `pip install --user uv` puts it. Recursive (=) so it is looked up when a
# recipe runs, i.e. after `venv` may have installed it.
UV_USER_BIN = $(shell python3 -c 'import site; print(site.getuserbase())')/bin/uv
UV = $(shell command -v uv 2>/dev/null || echo $(UV_USER_BIN))
PYTEST_ARGS ?=
BENCH_ARGS ?=

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-6s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: ## create or update .venv from uv.lock (installs uv with pip first if it is missing)
	@uv="$$(command -v uv || echo "$(UV_USER_BIN)")"; \
	if [ ! -x "$$uv" ]; then \
		echo "uv not found: python3 -m pip install --user uv"; \
		python3 -m pip install --user --quiet uv \
		|| python3 -m pip install --user --quiet --break-system-packages uv; \
	fi; \
	"$$uv" sync --frozen

run: venv ## run the whole chain once on the demo data: drop -> raw -> warehouse -> release (data/releases/current)
	"$(UV)" run satudata run --demo

test: venv ## run every test: real PostgreSQL/MariaDB, the real Airflow scheduler, headless Chromium (about 13 minutes)
	"$(UV)" run pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: venv ## ruff check of the whole repository, then mypy on the packages (pyproject.toml [tool.mypy])
	"$(UV)" run ruff check .
	"$(UV)" run mypy

up: venv ## start Airflow (api-server, scheduler, dag-processor, triggerer) + the demo agency systems on 127.0.0.1, in the background
	"$(UV)" run satudata up --demo

down: ## stop everything `make up` started
	"$(UV)" run satudata down

bench: venv ## connectors vs raw tools and dlt, warehouse build vs raw DuckDB, gates, latency (an hour or more; benchmarks/README.md)
	"$(UV)" sync --frozen --group bench
	"$(UV)" run --group bench python -m benchmarks.connectors $(BENCH_ARGS)
	"$(UV)" run --group bench python -m benchmarks.warehouse
	"$(UV)" run --group bench python -m benchmarks.gx_checks
	"$(UV)" run --group bench python -m benchmarks.latency
