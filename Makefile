# Two commands on a fresh machine: `make run` and `make test`. Both install what they need
# into .venv first (once, and again when setup.cfg changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `make run PORT=8080 HOST=0.0.0.0`
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-node lint-spec install check bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# .venv/bin is not on the shell's PATH: `flaskllm serve` prints its path, or `. .venv/bin/activate`.
run: install
	$(BIN)/flaskllm serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/lint-imports --no-logo --no-cache  # the layers of ARCHITECTURE.md (.importlinter)
	$(MAKE) lint-spec
	$(BIN)/pytest -q
	$(MAKE) test-node

# spec/: the contract's linters, Spectral (spectral:oas + OWASP) and Redocly (recommended),
# pinned in spec/package-lock.json; zero errors and zero warnings (spec/lint.mjs).
SPEC_DIR := spec
$(SPEC_DIR)/node_modules/.installed: $(SPEC_DIR)/package-lock.json
	cd $(SPEC_DIR) && npm ci --no-audit --no-fund
	touch $@

lint-spec: $(SPEC_DIR)/node_modules/.installed
	cd $(SPEC_DIR) && npm run --silent lint

# office-scripts/: Office Scripts and the Excel add-in, tested in Node against a live server
# started with this venv's Python. npm ci runs again only when package-lock.json changes.
NODE_DIR := office-scripts
$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

# tests/node-openai/: the official openai npm package against a live server's /v1 API.
NODE_OPENAI_DIR := tests/node-openai
$(NODE_OPENAI_DIR)/node_modules/.installed: $(NODE_OPENAI_DIR)/package-lock.json
	cd $(NODE_OPENAI_DIR) && npm ci --no-audit --no-fund
	touch $@

test-node: install $(NODE_DIR)/node_modules/.installed $(NODE_OPENAI_DIR)/node_modules/.installed
	cd $(NODE_DIR) && FLASKLLM_PYTHON=$(abspath $(BIN)/python) npm test
	cd $(NODE_OPENAI_DIR) && FLASKLLM_PYTHON=$(abspath $(BIN)/python) npm test

check: install
	$(BIN)/flaskllm check

# The benchmark (bench/run.py; README, "Benchmark"): run by hand, never by `make test`.
# Needs wrk (apt-get install wrk). `make bench BENCH_ARGS=--quick` for the short version.
# Its own venv, without the dev extras, holds what a deployment installs: the test tools
# would otherwise be imported by the server too (httpx loads rich and pygments when present).
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e .
	touch $@

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) instance .pytest_cache $(NODE_DIR)/node_modules $(NODE_DIR)/addin/dist \
		$(SPEC_DIR)/node_modules $(NODE_OPENAI_DIR)/node_modules
