# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test test-embedded lint typecheck pytest install clean messages bench

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
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The operator stack's servers (loopback on development and CI machines; .ci/run starts them).
TEST_PG_URL    ?= postgres://postgres@127.0.0.1:5432/anshin_test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/13
TEST_AMQP_URL  ?= amqp://guest:guest@127.0.0.1:5672//

# Three passes: everything on the embedded stack (SQLite + filesystem://); what touches the
# database or the broker again on PostgreSQL + Redis; the end-to-end delivery tests on RabbitMQ.
pytest: $(STAMP)
	ANSHIN_HOME=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)
	ANSHIN_HOME=$(CURDIR)/var/test-pg ANSHIN_DATABASE_URL=$(TEST_PG_URL) \
	  ANSHIN_BROKER_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)
	ANSHIN_HOME=$(CURDIR)/var/test-amqp ANSHIN_DATABASE_URL=$(TEST_PG_URL) \
	  ANSHIN_BROKER_URL=$(TEST_AMQP_URL) $(BIN)/pytest -m e2e $(PYTEST_ARGS)

# Only the embedded stack, for a machine without PostgreSQL, Redis and RabbitMQ.
test-embedded: $(STAMP) node_modules/axe-core/axe.min.js lint typecheck
	ANSHIN_HOME=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

messages: $(STAMP)
	cd src/anshin && ../../$(BIN)/anshin makemessages -l ja --no-location && ../../$(BIN)/anshin compilemessages

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache

bench: $(STAMP)
	$(BIN)/python bench/fanout.py --n 100000
