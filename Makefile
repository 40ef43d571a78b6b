# The commands people type. Every target installs what it needs first (idempotent).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install browser demo test test-unit test-integration bench up down status lint schemas clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

browser:               ## Debian's chromium + chromium-driver for the browser test (idempotent; apt as root)
	bash deploy/local/browser.sh

demo: install          ## start everything locally, drive traffic, print a summary
	$(BIN)/consent demo

test: install browser  ## unit + integration tests (starts and stops its own broker and database)
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit

test-integration: install browser
	$(BIN)/python -m pytest tests/integration

bench: install         ## send-filter throughput vs a bare pass-through; writes bench/results/
	$(BIN)/consent bench

up: install            ## broker, database and every pipeline process in the background
	$(BIN)/consent stack up

down:                  ## stop what `make up` started
	@if [ -x $(BIN)/consent ]; then $(BIN)/consent stack down; else bash deploy/local/stack.sh down-infra; fi

status: install
	$(BIN)/consent stack status

lint: install
	$(BIN)/ruff check schemas consent_table streams sinks sources ops bench tests deploy

schemas: install       ## regenerate schemas/json after changing a model
	$(BIN)/python -m schemas.export

clean: down
	rm -rf .local/demo .local/test .pytest_cache
