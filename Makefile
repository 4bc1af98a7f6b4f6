# citybase: two commands do all set-up on a fresh Debian/Ubuntu machine.
#   make demo   build the demo city into the embedded SQLite database and serve http://127.0.0.1:8000
#   make test   install what the tests need (PostgreSQL + PostGIS, Chromium) and run every check
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
SCALE ?= demo

.PHONY: setup demo serve test check bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV))
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

demo: setup
	$(VENV)/bin/citybase demo --scale $(SCALE)

serve: setup
	$(VENV)/bin/citybase serve

test: setup
	./scripts/test.sh

check: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: setup
	./scripts/bench.sh

clean:
	rm -rf $(VENV) citybase-data .pytest_cache .mypy_cache .ruff_cache
