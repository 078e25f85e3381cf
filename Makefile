# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint typecheck pytest install clean messages

run: $(STAMP)
	$(BIN)/anshin migrate --noinput
	$(BIN)/anshin demo

test: $(STAMP) node_modules/axe-core/axe.min.js lint typecheck pytest

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/axe-core/axe.min.js: package.json
	npm install --no-audit --no-fund --silent
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	ANSHIN_HOME=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

messages: $(STAMP)
	cd src/anshin && ../../$(BIN)/anshin makemessages -l ja --no-location && ../../$(BIN)/anshin compilemessages

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache
