PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers for make test / test-fast (auto: one per core)
WORKERS ?= auto

.PHONY: demo test test-fast lint bench templates docs docs-img clean libreoffice

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,eval]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/xlvalue run templates/xlvalue_demo.xlsx -o out/xlvalue_demo_results.xlsx

# the VBA compiler of the test suite: LibreOffice Basic (headless), Debian's package
libreoffice:
	@command -v soffice >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends libreoffice-calc-nogui; }

# Everything, the slow loops included (CI runs this through .ci/run).
test: $(STAMP) libreoffice
	$(BIN)/python -m pytest -n $(WORKERS)

# The inner loop: all but the tests marked slow (SIGKILL loops, Dask clusters, eval, wheel build).
test-fast: $(STAMP) libreoffice
	$(BIN)/python -m pytest -n $(WORKERS) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check xlvalue udfs tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

templates: $(STAMP)
	$(BIN)/xlvalue addin build templates/xlvalue.xlam
	cp templates/xlvalue.xlam xlvalue/excel/xlvalue.xlam
	$(BIN)/xlvalue template new templates/xlvalue_template.xlsx --force
	$(BIN)/xlvalue template new templates/xlvalue_demo.xlsx --demo --force
	$(BIN)/xlvalue template new templates/xlvalue_formulas.xlsx --formulas --force

docs-img: $(STAMP)
	$(BIN)/python docs/make_images.py

docs: $(STAMP)
	$(BIN)/xlvalue docs contract > docs/workbook-contract.md
	$(BIN)/xlvalue docs udfs > docs/udfs.md

clean:
	rm -rf $(VENV) out build *.egg-info
