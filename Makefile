# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test venv protos check-protos lint typecheck pytest bench clean browser promtool haproxy poppler node-deps fuzz i18n i18n-extract i18n-compile mutation

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# setuptools warns on every editable install of a flat layout; the install is the intended one.
	PYTHONWARNINGS=ignore::UserWarning $(PY) -m pip install --quiet -e '.[dev]'
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
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy

browser:
	sh scripts/ensure-chromium.sh

promtool:
	sh scripts/ensure-promtool.sh

poppler:
	sh scripts/ensure-poppler.sh

haproxy:
	sh scripts/ensure-haproxy.sh

# Translations (exchange/locale/): collect marked messages into messages.pot and every <lang>/exchange.po,
# then compile the .mo files the hub reads (committed; tests/unit/i18n fails when either is stale).
i18n-extract: venv
	$(PY) scripts/i18n.py extract

i18n-compile: venv
	$(PY) scripts/i18n.py compile

i18n: i18n-extract i18n-compile

# The independent Node.js client of tests/interop (versions pinned by its package-lock.json).
NODE_DIR := tests/interop/node
NODE_STAMP := $(NODE_DIR)/node_modules/.package-lock.json

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR)
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

# The suite waits on real processes, sockets and databases more than it computes: it runs in
# PYTEST_WORKERS pytest-xdist workers, a test file per worker at a time (module fixtures stay whole).
PYTEST_WORKERS ?= 4
pytest: venv browser promtool haproxy poppler node-deps
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

test: check-protos lint typecheck pytest

# Bounded fuzzing (FUZZ_SECONDS per target); a crash lands in fuzz/crashes/ and fails the run.
FUZZ_SECONDS ?= 30
fuzz: venv
	$(PY) -m fuzz --seconds $(FUZZ_SECONDS)

bench: venv
	$(PY) -m bench all

# Mutation testing of the security core with the unit tests (minutes; not part of `make test`).
mutation: venv
	$(PY) scripts/mutation.py

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts $(NODE_DIR)/node_modules mutants
