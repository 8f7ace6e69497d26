# `make demo` and `make test` each set up everything they need, on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
QUESTION := When was Ain al-Asad last hit by ballistic missiles?

.PHONY: demo test lint format bench clean

# After a pytest run: its exit code, but 5 (it collected nothing) fails too.
NO_TESTS_FAILS = rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Tests of dates, when-answers and rankings, run a second time under the other encoder precision.
PRECISION_TESTS := tests/test_events.py tests/test_dates.py tests/test_archive.py tests/test_event_vectors.py \
  tests/test_sentence_vectors.py tests/test_evaluate.py

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build on this machine's disk, not a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The LLM reader's test server. llama-cpp-python builds llama.cpp from source; only the CPU backend
# and the library, none of its tools, examples, tests or multimodal part (about 6 minutes on two
# cores instead of 18). pip keeps the wheel it built, so only a new machine pays this once.
LLM_STAMP := $(VENV)/.installed-llm
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PY) -m pip install --quiet -e ".[dev,llm]"
	touch $(LLM_STAMP)

demo: $(STAMP)
	$(VENV)/bin/dateline ingest corpus --index indexes/demo
	$(VENV)/bin/dateline ask "$(QUESTION)" --index indexes/demo
	@echo
	$(VENV)/bin/dateline timeline "Ain al-Asad hit by ballistic missiles" --index indexes/demo

# Debian's chromium for the chat page's browser tests (Playwright's own browser download cannot work here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null

test: $(STAMP) $(LLM_STAMP) $(CHROMIUM)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS); $(NO_TESTS_FAILS)
	# The tests that choose days and rankings again, under the encoder precision `auto` did not
	# choose on this machine: an answer resting on a margin the precision can flip fails here.
	@other=$$($(PY) -c 'from qa.embed import native_bfloat16; print("float32" if native_bfloat16() else "bfloat16")'); \
	  echo "again with DATELINE_ENCODER_PRECISION=$$other: $(PRECISION_TESTS)"; \
	  DATELINE_ENCODER_PRECISION=$$other $(PY) -m pytest -p no:cacheprovider $(PRECISION_TESTS); $(NO_TESTS_FAILS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/ingest.py --articles 150

clean:
	rm -rf indexes/demo indexes/default .pytest_cache
