# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test venv protos check-protos lint typecheck pytest bench clean browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(VENV)/bin/exchange demo

protos: venv
	$(PY) scripts/protos.py

check-protos: venv
	$(PY) scripts/protos.py --check
	cd protos && ../$(VENV)/bin/buf lint

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

browser:
	sh scripts/ensure-chromium.sh

pytest: venv browser
	$(VENV)/bin/pytest

test: check-protos lint typecheck pytest

bench: venv
	$(PY) -m bench all

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts
