# The commands people type. Every target installs what it needs first (idempotent).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install browser chaos demo test test-unit test-integration fuzz bench up down status lint schemas clean

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

FUZZ_EXAMPLES ?= 5000
fuzz: install          ## long fuzz run: FUZZ_EXAMPLES hostile records in batches, with valid traffic
	CONSENT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/integration/test_fuzz.py tests/unit/test_fuzz_strategies.py

bench: install         ## send-filter throughput vs a bare pass-through; writes bench/results/
	$(BIN)/consent bench

up: install            ## broker, database and every pipeline process in the background (CLUSTER=3: three brokers)
	$(if $(CLUSTER),LOCAL_KAFKA_BROKERS=$(CLUSTER) )$(BIN)/consent stack up

chaos: install         ## 10,000 opt-out/request pairs under every fault, on three brokers (exit 1 on a leak)
	$(BIN)/consent chaos --brokers 3

down:                  ## stop what `make up` started
	@if [ -x $(BIN)/consent ]; then $(BIN)/consent stack down; else bash deploy/local/stack.sh down-infra; fi

status: install
	$(BIN)/consent stack status

lint: install          ## ruff, and mypy over the packages ([tool.mypy] in pyproject.toml)
	$(BIN)/ruff check schemas consent_table streams sinks sources ops bench tests deploy
	$(BIN)/mypy

schemas: install       ## regenerate schemas/json after changing a model
	$(BIN)/python -m schemas.export

clean: down
	rm -rf .local/demo .local/test .pytest_cache
