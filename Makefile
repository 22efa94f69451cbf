# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTEST_ARGS ?=
BENCH_ARGS ?=
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check

.PHONY: run test setup setup-test test-deps bench

# What running needs: the package and its dependencies, nothing else.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

# What the tests and benchmarks add: the `test` extra (pytest, Playwright, Schemathesis, profilers...).
$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) -e '.[test]'
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

run: setup
	$(BIN)/promptify db upgrade
	$(BIN)/promptify demo --serve --port $(PORT)

tests/node/node_modules/.installed: tests/node/package.json
	npm install --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $@

test-deps: setup-test tests/node/node_modules/.installed /usr/bin/chromium

test: test-deps
	$(BIN)/ruff check promptify tests bench
	$(BIN)/ruff format --check promptify tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup-test  # logs in with requests; bench.profile_identify and bench.spy use pyinstrument and py-spy
	$(BIN)/python -m bench.run $(BENCH_ARGS)

/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
