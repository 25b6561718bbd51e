# CloudAct — the two set-up commands are `make demo` and `make test`; both create .venv and install what is missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export RUNTIME__DLTHUB_TELEMETRY := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install demo test bench lint lock clean prefect serve bq-emulator

install: $(STAMP)

# Installs exactly the locked versions (constraints.txt) with uv; falls back to pip where uv is unavailable.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (python 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check 'uv==0.9.30' \
		&& $(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt -e '.[dev]' \
		|| $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The BigQuery emulator the tests run against (crucible pins duckdb 1.5.6 and sqlglot 30.22: its own venv).
BQ_VENV := .venv-bq
BQ_STAMP := $(BQ_VENV)/.installed-0.1.0a2
bq-emulator: $(BQ_STAMP)

$(BQ_STAMP): $(STAMP)
	@test -x $(BQ_VENV)/bin/python || $(PYTHON) -m venv $(BQ_VENV)
	@$(BIN)/uv pip install -q --python $(BQ_VENV)/bin/python 'crucible-emulator[server]==0.1.0a2' \
		|| $(BQ_VENV)/bin/python -m pip install -q --disable-pip-version-check 'crucible-emulator[server]==0.1.0a2'
	@touch $(BQ_STAMP)

demo: install
	$(BIN)/cloudact demo

# A local Prefect server and worker on 127.0.0.1 with every deployment of prefect.yaml (Ctrl-C stops them).
prefect: install
	$(BIN)/cloudact prefect up

serve: install
	$(BIN)/cloudact serve

# Two pytest workers, one test file each at a time. Schemathesis names every generated test alike, which
# pytest-xdist cannot tell apart: that file runs on its own.
SERIAL_TESTS := tests/api/test_openapi_schemathesis.py
test: install bq-emulator
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --ignore=$(SERIAL_TESTS)
	$(BIN)/python -m pytest -q $(SERIAL_TESTS)

# Issue 7's benchmarks, one table (about 30 minutes on 2 cores); BENCHMARKS.md records method and results.
bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-resolve the lock after changing pyproject.toml (keep dbt-core<1.12: see ../shared/STACK.md).
lock: install
	{ echo "# Lock: every package of the resolved environment (uv pip freeze). Regenerate with 'make lock'."; \
	  $(BIN)/uv pip freeze --python $(BIN)/python | grep -v -e '^-e' -e '^pip==' -e '^setuptools==' -e '^uv=='; } > constraints.txt

clean:
	rm -rf $(VENV) $(BQ_VENV) .cloudact target logs focus-validation .pytest_cache
