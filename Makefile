# Everything a fresh machine needs: `make run` and `make test` create the
# virtualenv, install the project (once; again only when pyproject.toml, setup.py or
# a compiled module's source changes: the editable install compiles them into matching/)
# and then do their job.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# A prebuilt quickfix wheel saves a ~9 minute compile where the shared folder has one.
WHEELS := $(wildcard ../shared/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(abspath $(WHEELS)),)
PYTEST_ARGS ?=
# The integration tests mostly wait on processes and sockets: two workers halve the suite's time on two
# cores (17:51 -> 9:36 measured). TEST_WORKERS=0 runs everything in this one process.
TEST_WORKERS ?= 2

.PHONY: install run test bench clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

COMPILED_SOURCES := matching/_frozen_init.c matching/compiled.py $(wildcard matching/book.p* matching/engine.p*)

$(STAMP): pyproject.toml setup.py $(COMPILED_SOURCES) | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(FIND_LINKS) -e '.[test]'
	touch $(STAMP)

run: install
	$(VENV)/bin/fixex serve

# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: install
	$(PY) -m matching.bench --breakers both
	$(PY) -m risk.bench
	$(VENV)/bin/fixex bench -- --audit both --reference both
	$(VENV)/bin/fixex bench -- --risk both
	$(VENV)/bin/fixex bench -- --market-data
	$(VENV)/bin/fixex bench -- --loader || echo "audit loader benchmark skipped: it needs PostgreSQL (FIXEX_TEST_DATABASE_URL)"
	$(VENV)/bin/fixex bench -- --exports || echo "export benchmark skipped: it needs PostgreSQL (FIXEX_TEST_DATABASE_URL)"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

demo: install
	$(VENV)/bin/fixex demo
