# Two commands on a fresh machine:  `make run`  (the shipped scenario suite on the embedded
# SQLite default, reports in out/)  and  `make test`  (the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench docs clean
BENCH_ARGS ?=

# The C loops (setup.py) are built by the install, and rebuilt in place when their sources change.
$(STAMP): pyproject.toml setup.py system/eventlog/_chain.c system/gateways/fix/_fields.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,lint,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chronex run --report out

# --max-worker-restart 0: a worker that dies (a segfault in a C extension) fails the run at once
# naming its test; replacing it under --dist loadfile can hang the run (pytest-xdist #784, #1378).
test: $(STAMP)
	$(BIN)/pytest -n 2 -p xdist --dist loadfile --max-worker-restart 0 tests features; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every benchmark with its headline workload; `make bench BENCH_ARGS=--quick` for a smoke run of each.
bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || exit 1; done

docs: $(STAMP)
	$(BIN)/chronex steps --markdown > docs/steps.md

# Generated files only: run output (out/), caches, the virtualenv, the built C loops. Never a
# tracked file.
clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/out build
	rm -f system/eventlog/_chain.*.so system/gateways/fix/_fields.*.so
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
