# Two commands on a fresh machine: `make run` and `make test`. Both install what they need
# into .venv first (once, and again when setup.cfg changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install check clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/flaskllm serve

test: install
	$(BIN)/pytest -q

check: install
	$(BIN)/flaskllm check

clean:
	rm -rf $(VENV) instance .pytest_cache
