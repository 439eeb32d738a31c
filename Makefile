# cairn.platform developer entry points. Everything runs from the project venv (.venv),
# which `make venv` (a prerequisite of every target) creates or refreshes from requirements-dev.txt.
#
#   make demo        converge inventories/local against a local AWS emulator, show the result
#   make test        everything CI runs (.ci/run): lint, docs, unit + integration, molecule, sanity
#   make help        all targets

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.PHONY: help venv demo emulator-start emulator-stop emulator-status test unit integration pytest \
        molecule lint sanity docs-lint benchmark changelog clean

VENV := $(CURDIR)/.venv
# Same effect as activating the venv: molecule and ansible-test call ansible-* from PATH.
export PATH := $(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(VENV)
# The checkout is the collection cairn.platform through the committed link tree.
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections

EMULATOR := scripts/emulator.sh
PYTEST_PATHS := $(wildcard tests/unit tests/integration)
MOLECULE_STATE := $(CURDIR)/.emulator/molecule

help:
	@echo "make demo             start the local AWS emulator, run site.yml on inventories/local, print the result"
	@echo "make emulator-start   start the emulator (port 4566 or CAIRN_EMULATOR_PORT); emulator-stop, emulator-status"
	@echo "make test             lint, docs-lint, unit + integration tests, molecule, ansible-test sanity"
	@echo "make unit | integration | molecule | lint | sanity | docs-lint   one step of make test"
	@echo "make benchmark        time site.yml (converge, rerun, check) and count API calls"
	@echo "make changelog        lint the fragments and fold them into CHANGELOG.rst"
	@echo "make venv             create/refresh .venv from requirements-dev.txt"

venv:
	@scripts/bootstrap.sh

# ---------------------------------------------------------------------------------- demo
emulator-start: venv
	@$(EMULATOR) start

emulator-stop:
	@$(EMULATOR) stop

emulator-status:
	@$(EMULATOR) status

demo: emulator-start
	@# The local inventory reads the port from CAIRN_EMULATOR_PORT (default 4566).
	@port=$$(cat .emulator/port); endpoint=$$(cat .emulator/endpoint); \
	CAIRN_EMULATOR_PORT=$$port ansible-playbook site.yml -i inventories/local; \
	echo; echo "== What the collection created (tagged cairn:managed-by=cairn.platform) =="; \
	AWS_ENDPOINT_URL=$$endpoint AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	  python scripts/demo_summary.py --inventory inventories/local; \
	echo; echo "The emulator keeps running at $$endpoint (point any AWS SDK or CLI at it with AWS_ENDPOINT_URL=$$endpoint)."; \
	echo "Run it again: make demo (a no-op rerun).  Stop it: make emulator-stop"

# ---------------------------------------------------------------------------------- test
# Fast checks first, so a typo fails in seconds rather than after the molecule run.
test: venv
	@$(MAKE) --no-print-directory lint docs-lint pytest molecule sanity
	@echo "make test: all steps passed"

pytest: venv
	python -m pytest $(PYTEST_PATHS)

unit: venv
	python -m pytest tests/unit

integration: venv
	@if [ -d tests/integration ]; then python -m pytest tests/integration; else echo "no tests/integration"; fi

# One dedicated emulator on a free port for all scenarios, stopped even when a scenario fails.
molecule: venv
	@$(EMULATOR) stop --state-dir $(MOLECULE_STATE) >/dev/null; \
	$(EMULATOR) start --port 0 --state-dir $(MOLECULE_STATE); \
	trap '$(EMULATOR) stop --state-dir $(MOLECULE_STATE) >/dev/null' EXIT; \
	CAIRN_MOLECULE_ENDPOINT=$$(cat $(MOLECULE_STATE)/endpoint) molecule test --all

lint: venv
	ansible-lint

sanity: venv
	scripts/sanity.sh

docs-lint: venv
	scripts/docs_lint.sh

# ---------------------------------------------------------------------------------- other
benchmark: venv
	python benchmarks/networking.py

# Until galaxy.yml's version is tagged, fragments fold into that version's entry (keep_fragments).
changelog: venv
	antsibull-changelog lint
	antsibull-changelog release --reload-plugins --refresh

clean: emulator-stop
	rm -rf tests/output .emulator
