# vpc-dns-watchdog developer entry points. Everything installs into .venv from the package registries.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := $(VENV)/checkov
STAMP := $(VENV)/.installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

# sam build wants the runtime's interpreter (python3.12) on PATH; pyenv machines have one aside.
PY312_DIR := $(shell if python3.12 -V >/dev/null 2>&1; then dirname "$$(command -v python3.12)"; \
	elif command -v pyenv >/dev/null 2>&1 && p=$$(pyenv prefix $$(pyenv versions --bare | grep -E '^3\.12' | tail -n1) 2>/dev/null); then echo "$$p/bin"; fi)

.PHONY: help venv lint typecheck unit integration iac checkov sam-build test demo cost bench sam-local clean \
	package-org demo-org bench-org bench-burst smoke-aws

help:
	@echo "make demo   - run the watchdog end to end against a local DNS lab and a local AWS (moto)"
	@echo "make demo-org - organization mode end to end: two accounts, two regions, the sweep through SQS"
	@echo "make cost   - the monthly cost model; rewrites the README's cost table"
	@echo "make unit   - the quick loop: pure tests only, sockets disabled (seconds)"
	@echo "make integration - moto, the DNS lab on loopback, the real canary behind the checker"
	@echo "make iac    - cfn-lint, sam validate --lint, sam build, checkov, EventBridge patterns vs events/"
	@echo "make test   - lint, type-check and every test tier (what CI runs)"
	@echo "make bench  - benchmarks (medians and ratios, side by side in one run)"
	@echo "make bench-org - the organization sweep benchmark alone (200 targets, concurrency 50)"
	@echo "make bench-burst - a 10,000-change burst through the change queue alone (model from a measured check)"
	@echo "make sam-local - sam build + real 'sam local invoke' of each function (needs Docker with Lambda images)"
	@echo "make package-org CODE_BUCKET_PREFIX=... REGIONS=\"...\" - the canary for StackSets, once per region (AWS credentials)"
	@echo "make smoke-aws STACK=... VPC=... - deploy, break, alert, roll back, delete: in a real account (AWS credentials)"

$(STAMP): requirements-dev.txt functions/canary/requirements.txt functions/checker/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt | $(STAMP)
	$(BIN)/python -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	cd functions/canary && ../../$(BIN)/mypy --config-file ../../pyproject.toml --cache-dir ../../.mypy_cache app.py dns_canary
	cd functions/checker && ../../$(BIN)/mypy --config-file ../../pyproject.toml --cache-dir ../../.mypy_cache app.py dns_watchdog
	MYPYPATH=functions/canary:functions/checker $(BIN)/mypy devtools
	cd cli && ../$(BIN)/mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache vpc_dns_watchdog_cli

# Test tiers: every test module carries one marker (tests/conftest.py fails the run otherwise).
PYTEST := $(BIN)/python -m pytest -q
# Pure code, offline by construction (pytest-socket): the loop to run while editing.
unit: $(STAMP)
	$(PYTEST) -m unit --disable-socket -n 2

# moto, the DNS lab on loopback, the real canary behind the checker, the demo.
integration: $(STAMP)
	$(PYTEST) -m integration -n 2

# The template gates as tests: cfn-lint, sam validate --lint, sam build (python3.12), checkov.
iac: $(STAMP) $(CHECKOV_STAMP)
	$(PYTEST) -m iac -n 2

checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		-f template.yaml -f canary-template.yaml -f member-template.yaml

sam-build: $(STAMP)
	@if [ -z "$(PY312_DIR)" ]; then echo "sam build skipped: no python3.12 interpreter on this machine"; \
	else PATH="$(PY312_DIR):$$PATH" $(BIN)/sam build --cached --parallel; fi

# The tiers `make test` runs, cheapest first; a new tier adds its target here.
TEST_TIERS := unit integration realdns iac
test: lint typecheck $(TEST_TIERS)

demo: $(STAMP)
	$(BIN)/python -m devtools.demo

# Organization mode offline: a central and a member account, two regions, the sweep through SQS.
demo-org: $(STAMP)
	$(BIN)/python -m devtools.demo_org

# The README's cost table, from the template and the checker's metrics (devtools/cost.py).
cost: $(STAMP)
	PYTHONPATH=functions/checker $(BIN)/python -m devtools.cost

# Both reports always print; the target fails if either missed a target.
bench: $(STAMP)
	status=0; $(BIN)/python -m devtools.bench || status=1; \
	$(BIN)/python -m devtools.bench_org || status=1; exit $$status

# The organization sweep alone: 200 (account, region) targets through the SQS fan-out, concurrency 50.
bench-org: $(STAMP)
	$(BIN)/python -m devtools.bench_org

# A 10,000-change burst from one member account through the change queue, alone (also in `make bench`).
bench-burst: $(STAMP)
	$(BIN)/python -m devtools.bench_burst

# Real `sam build` + `sam local invoke` of each function, asserted (devtools/sam_local.py).
# Needs a Docker engine (DOCKER_HOST) that has the Lambda Python images for the host architecture.
sam-local: $(STAMP)
	PATH="$(PY312_DIR):$$PATH" $(BIN)/python -m devtools.sam_local

# Organization mode (docs/deploy.md): builds the canary, uploads its code once per region to
# <CODE_BUCKET_PREFIX>-<region> (buckets you created, readable by the organization) and writes one
# plain-CloudFormation StackSet template, .aws-sam/org/canary-stackset.yaml. Uses your AWS
# credentials; no test runs it (tests/iac/test_package_org.py drives it with a stand-in for sam).
REGIONS ?=
CODE_BUCKET_PREFIX ?=
package-org: $(STAMP)
	@if [ -z "$(CODE_BUCKET_PREFIX)" ] || [ -z "$(REGIONS)" ]; then \
		echo 'usage: make package-org CODE_BUCKET_PREFIX=my-org-dns-watchdog REGIONS="us-east-1 eu-west-1"'; exit 2; fi
	@if [ -z "$(PY312_DIR)" ]; then echo "package-org: sam build needs a python3.12 interpreter"; exit 2; fi
	PATH="$(PY312_DIR):$$PATH" $(BIN)/sam build --config-env canary
	$(BIN)/python -m devtools.package_org --bucket-prefix "$(CODE_BUCKET_PREFIX)" --regions $(REGIONS) \
		--sam $(BIN)/sam

# The watchdog in a real account, end to end, then deleted (devtools/smoke_aws.py, docs/deploy.md
# "Smoke test in a real account"). Uses your AWS credentials and changes the option set of VPC:
# give it a throwaway one. Optional: SLACK_WORKSPACE + SLACK_CHANNEL (chat and the Roll back
# button), PRESS_BUTTON_WAIT (seconds to wait for someone to press it), STACK_SET=1 (management
# account or delegated administrator), DEAD_SERVER, REGION. CI runs its logic against moto
# (tests/devtools/test_smoke_aws.py).
STACK ?=
VPC ?=
SMOKE_OPTIONS = $(if $(REGION),--region $(REGION)) \
	$(if $(SLACK_WORKSPACE),--slack-workspace $(SLACK_WORKSPACE)) \
	$(if $(SLACK_CHANNEL),--slack-channel $(SLACK_CHANNEL)) \
	$(if $(PRESS_BUTTON_WAIT),--press-button-wait $(PRESS_BUTTON_WAIT)) \
	$(if $(STACK_SET),--stack-set) $(if $(DEAD_SERVER),--dead-server $(DEAD_SERVER))
smoke-aws: $(STAMP)
	@if [ -z "$(STACK)" ] || [ -z "$(VPC)" ]; then \
		echo 'usage: make smoke-aws STACK=vpc-dns-watchdog-smoke VPC=vpc-... [SLACK_WORKSPACE=T... SLACK_CHANNEL=C...] [PRESS_BUTTON_WAIT=600] [STACK_SET=1] [REGION=...]'; exit 2; fi
	@if [ -z "$(PY312_DIR)" ]; then echo "smoke-aws: sam build needs a python3.12 interpreter"; exit 2; fi
	PATH="$(PY312_DIR):$$PATH" $(BIN)/python -m devtools.smoke_aws --stack "$(STACK)" --vpc "$(VPC)" \
		--sam $(BIN)/sam $(SMOKE_OPTIONS)

clean:
	rm -rf $(VENV) .aws-sam

# --- real DNS server tier (tests/realdns): unbound, BIND 9, NSD, dnsmasq and Samba 4 (an AD domain
# controller's internal DNS server) from Debian packages, run inside a network namespace the tests
# create. Needs root (CI is root); with CI=true a missing
# server fails the tier instead of skipping it.
REALDNS_PACKAGES := unbound bind9 nsd dnsmasq-base iptables iproute2 \
	samba samba-ad-dc samba-ad-provision pdns-recursor knot-resolver dnsdist
REALDNS_BINARIES := /usr/sbin/unbound /usr/sbin/named /usr/sbin/nsd /usr/sbin/dnsmasq \
	/usr/sbin/iptables /usr/sbin/ip6tables /usr/sbin/ip /usr/bin/ss /usr/sbin/samba /usr/bin/samba-tool \
	/usr/sbin/pdns_recursor /usr/sbin/kresd /usr/bin/dnsdist

.PHONY: realdns-deps realdns
# Installs the servers when missing; policy-rc.d keeps Debian from starting them as system
# services (nothing may listen on the host's port 53), and any unit is left disabled.
realdns-deps:
	@missing=""; for b in $(REALDNS_BINARIES); do [ -x "$$b" ] || missing="$$missing $$b"; done; \
	if [ -z "$$missing" ]; then echo "realdns: servers present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "realdns: missing$$missing (run 'sudo make realdns-deps')"; exit 0; fi; \
	own_policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1; fi; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$(REALDNS_PACKAGES); status=$$?; \
	if command -v systemctl >/dev/null 2>&1; then \
		systemctl disable --now named unbound unbound-resolvconf nsd samba-ad-dc smbd nmbd \
			winbind pdns-recursor dnsdist kresd.target kresd@1 kres-cache-gc >/dev/null 2>&1 || true; fi; \
	if [ -n "$$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	exit $$status

realdns: $(STAMP) realdns-deps
	$(BIN)/python -m pytest tests/realdns -m realdns -q
