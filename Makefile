# faslearn: install, run the course, run the tests. `make help` lists the targets.
#
# Variables (make VAR=value ...):
#   PYTHON           interpreter that creates the virtual environment (default python3, >= 3.10)
#   VENV             where the virtual environment lives (default .venv)
#   TORCH_INDEX_URL  package index for torch/torchvision only, e.g.
#                    https://download.pytorch.org/whl/cpu for the small CPU-only wheels
#   NOTEBOOKS        the teaching notebooks that course/outputs/test-notebooks run
#                    (default notebooks/[0-9]*.ipynb), e.g. NOTEBOOKS=notebooks/02_cdc.ipynb
#   LAB_ARGS         extra options for `make lab`, e.g. "--no-browser --ip=0.0.0.0"

PYTHON ?= python3
VENV ?= .venv
TORCH_INDEX_URL ?=
LAB_ARGS ?=

BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9]*.ipynb))
BENCHMARKS := $(sort $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py)))  # _timing.py: shared code

.DEFAULT_GOAL := help
.PHONY: help install course test lint test-unit test-notebooks test-notebooks-native test-notebooks-baseline test-notebooks-path spread outputs lab benchmarks clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

install: $(INSTALLED) ## create the virtual environment VENV and install faslearn (editable) + test tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes first, on its own, so that TORCH_INDEX_URL applies to it and to nothing else.
# The stamp file makes a second `make install` instant until pyproject.toml changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install "torch>=2.1" "torchvision>=0.16" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

course: install ## run every teaching notebook headless into runs/course-<time>/ (notebooks/ untouched)
	$(BIN)/python scripts/run_notebooks.py --out runs/course-$$(date +%Y%m%d-%H%M%S) $(NOTEBOOKS)

test: lint test-unit test-notebooks ## the checks below (`make -k test` runs the next if one fails)

# Every check runs under a wall-clock limit (scripts/with_limit.py): it may fail, it never hangs.
LIMIT = $(BIN)/python scripts/with_limit.py

lint: install ## ruff: lint and import order of faslearn/, scripts/, tests/, benchmarks/ (pyproject.toml)
	$(LIMIT) 300 -- $(BIN)/python -m ruff check faslearn scripts tests benchmarks

test-unit: install ## unit tests, plus papermill smoke runs of notebooks/training/*.ipynb
	$(LIMIT) 2400 -- $(BIN)/python -m pytest

# nbval, with the cell markers described in tests/portability.py (README, "Tests")
NBVAL = $(BIN)/python -m pytest -p tests.conftest --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg

test-notebooks: test-notebooks-native test-notebooks-baseline ## re-run the teaching notebooks and compare with their stored outputs, on two CPU code paths

test-notebooks-native: install ## nbval on this CPU's own code paths
ifeq ($(strip $(NOTEBOOKS)),)
	@echo "no notebooks/[0-9]*.ipynb yet: nothing for nbval to compare"
else
	$(LIMIT) 1800 -- $(NBVAL) $(NOTEBOOKS)
endif

# Again with NumPy, OpenCV and PyTorch forced off their AVX2/AVX-512 kernels and onto one thread,
# rendering the benchmark afresh in a temporary cache: the arithmetic of another CPU, on this one.
test-notebooks-baseline: install ## nbval on baseline CPU code paths, as another CPU would compute
ifneq ($(strip $(NOTEBOOKS)),)
	cache=$$(mktemp -d) && FASLEARN_CACHE=$$cache $(LIMIT) 2400 -- $(BIN)/python -m tests.portability baseline -- \
		$(NBVAL) $(NOTEBOOKS); status=$$?; rm -rf $$cache; exit $$status
endif

# Any path of tests/portability.py, e.g. `make test-notebooks-path CPU_PATH=baseline_2threads` (a third arithmetic).
CPU_PATH ?= baseline_2threads
test-notebooks-path: install ## nbval on the CPU code path CPU_PATH (default baseline_2threads), fresh benchmark
ifneq ($(strip $(NOTEBOOKS)),)
	cache=$$(mktemp -d) && FASLEARN_CACHE=$$cache $(LIMIT) 2400 -- $(BIN)/python -m tests.portability $(CPU_PATH) -- \
		$(NBVAL) $(NOTEBOOKS); status=$$?; rm -rf $$cache; exit $$status
endif

outputs: install ## re-run the teaching notebooks and store the new outputs in notebooks/
	$(BIN)/python scripts/run_notebooks.py --inplace $(NOTEBOOKS)

lab: install ## open JupyterLab on notebooks/
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

spread: install ## run the notebooks on every CPU code path and report how far each printed number moves
	$(BIN)/python scripts/measure_spread.py $(NOTEBOOKS)

benchmarks: install ## run every benchmarks/*.py
	@set -e; for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python $$script; done

clean: ## delete runs/, caches and build files (keeps the virtual environment)
	rm -rf runs build dist *.egg-info .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
