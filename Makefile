# One command to start the registry, one to run every test; both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint bench install

CHROMIUM := /usr/bin/chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

serve: install
	$(BIN)/schemahub serve

# The console's browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "the console's browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
	fi

test: install $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/compat.py
	$(BIN)/python bench/stores.py
	$(BIN)/python bench/serde.py
	$(BIN)/python bench/console.py
