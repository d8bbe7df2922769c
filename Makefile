PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench templates docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,eval]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/xlvalue run templates/xlvalue_demo.xlsx -o out/xlvalue_demo_results.xlsx

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check xlvalue udfs tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

templates: $(STAMP)
	$(BIN)/xlvalue addin build templates/xlvalue.xlam
	$(BIN)/xlvalue template new templates/xlvalue_template.xlsx --force
	$(BIN)/xlvalue template new templates/xlvalue_demo.xlsx --demo --force

docs: $(STAMP)
	$(BIN)/xlvalue docs contract > docs/workbook-contract.md
	$(BIN)/xlvalue docs udfs > docs/udfs.md

clean:
	rm -rf $(VENV) out build *.egg-info
