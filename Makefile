# entrasnap developer commands. `make install` then `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install browser azurite test lint typecheck check clean

install: $(BIN)/entrasnap

$(BIN)/entrasnap: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# The report's browser test drives Debian's chromium through Playwright (never `playwright install`).
browser:
	@if [ -x /usr/bin/chromium ]; then echo 'chromium: already installed'; \
	else apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi

# Azurite (the Azure Storage emulator) for the Azure Blob tests, from package-lock.json.
azurite:
	@if [ -x node_modules/.bin/azurite-blob ]; then echo 'azurite: already installed'; \
	else npm ci --no-audit --no-fund; fi

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

test: lint typecheck browser azurite
	@# pytest exits 5 when it collected no tests: treat that as a failure.
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo 'no tests were collected' >&2; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
