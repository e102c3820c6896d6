# The two commands of the README. Each builds .venv on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Real datasets: ../shared/datasets when this checkout sits beside it, otherwise ./data (downloads when online).
DATA_ROOT ?= $(if $(wildcard ../shared/datasets),../shared/datasets,data)
PROFILE ?= quick

.PHONY: run test install clean

$(BIN)/harness: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

install: $(BIN)/harness

run: install
	$(BIN)/harness reference run --all --profile $(PROFILE) --data-root $(DATA_ROOT) \
	    --skip-missing-data --store results/harness.sqlite --html results/reference.html

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) results .pytest_cache
