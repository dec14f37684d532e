# Set-up and everyday commands. `make run` and `make test` are all a new user needs:
# both create .venv on a fresh machine by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned here, installed before the project: on machines without CUDA pip resolves
# this pin to a CPU build, while an unpinned torch pulls a multi-GB CUDA build.
TORCH_PIN := torch==2.13.0

.PHONY: bytecode run test browser test-faults check lint imports typecheck screenshots bench gpu-check clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Bytecode of the project's modules, as a regular (not editable) install writes it: without,
# a Python run with PYTHONDONTWRITEBYTECODE compiles every module at each start of the app
# (40 ms of its first frame here). Up-to-date files are skipped: 0.07 s when nothing changed.
bytecode: $(BIN)/.installed
	$(BIN)/python -m compileall -q engine llmtool_tui

run: bytecode
	$(BIN)/llmtool-tui

# The whole suite, slow fault-injection tests included, on every core (pytest-xdist); tests that
# share a fixed folder are kept on one worker (xdist_group).
PYTEST_PARALLEL := -n auto --dist loadgroup
test: bytecode browser
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

# Chromium for the browser test of `llmtool-tui serve` (Debian's package, as root with apt-get;
# apt's lists are refreshed only when the package is not found). Never fails the build: where
# Chromium cannot be installed, that one test is skipped and says why.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "make: installing Chromium for the browser test"; \
	  { test "$$(id -u)" = 0 && command -v apt-get \
	    && { $(APT_INSTALL) chromium || { apt-get update -qq && $(APT_INSTALL) chromium; }; }; } \
	  >/dev/null 2>&1 || echo "make: Chromium could not be installed; the browser test will be skipped"; }

test-faults: $(BIN)/.installed
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m slow

lint: $(BIN)/.installed
	$(BIN)/ruff check engine llmtool_tui tests bench
	$(BIN)/ruff format --check engine llmtool_tui tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# The architecture's import contracts (pyproject.toml, [tool.importlinter]).
imports: $(BIN)/.installed
	$(BIN)/lint-imports

check: lint imports typecheck test

screenshots: $(BIN)/.installed
	$(BIN)/python -m llmtool_tui.screenshots

# Every benchmark; figures, the machine they came from and how to read them: bench/README.md.
BENCH_TRAINING_ARGS ?= --repeat 1
bench: bytecode
	$(BIN)/python bench/bench_dropin.py
	$(BIN)/python bench/bench_watch.py
	$(BIN)/python bench/bench_sessions.py
	$(BIN)/python bench/bench_app_start.py
	$(BIN)/python bench/bench_analysis.py
	$(BIN)/python bench/bench_language_detection.py
	$(BIN)/python bench/bench_training.py $(BENCH_TRAINING_ARGS)

# Training on a CUDA GPU in each precision, kill and resume bit for bit, throughput against a bare
# Trainer, NCCL on two GPUs (bench/gpu_check.py). Without CUDA it says so and runs nothing.
gpu-check: $(BIN)/.installed
	$(BIN)/python bench/gpu_check.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
