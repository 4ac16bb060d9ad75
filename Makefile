# v2s — quick start: `make demo` and `make test` (Debian 12, root).
SHELL := /bin/bash
PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# Expensive lab artefacts (vcsim binary, guest images, conversions) are keyed by a
# hash of their inputs, so one cache outside the clone serves every clone and CI run.
export V2S_CACHE ?= /var/cache/vmware2scw

.PHONY: install demo demo-dask test test-guests lint typecheck bench schemas clean clean-cache

install:
	bash tests/lab/install.sh

demo: install
	$(PY) -m tests.lab.demo

demo-dask: install
	$(PY) -m tests.lab.dask_demo

test: install
	$(PY) -m ruff check vmware2scw providers tests benchmarks
	$(PY) -m mypy
	$(PY) -m pytest -q -m "not bench and not live and not guests" tests

# Every lab guest variant converted with network dhcp and keep, booted three times (long).
test-guests: install
	$(PY) -m pytest -q -m guests tests/convert

bench: install
	$(PY) -m pytest -q -s -m bench benchmarks tests

schemas: install
	$(PY) -m vmware2scw.cli schema --write schemas

clean:
	rm -rf .cache .venv .v2s

clean-cache:
	rm -rf "$(V2S_CACHE)"
