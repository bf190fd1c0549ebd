# lbaas developer entry points. Every target installs what it needs first (Debian 12, as root).
SHELL := /bin/bash
UV_VERSION := 0.13.9
APT_PACKAGES := haproxy keepalived socat iproute2 postgresql mariadb-server nginx-light wrk curl \
	python3-venv python3-pip util-linux procps rabbitmq-server \
	prometheus prometheus-alertmanager rsyslog chromium chromium-driver
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
export UV_LINK_MODE := copy

.PHONY: deps system-deps python-deps run lab test lint unit functional e2e bench sample-config \
	octavia-suite bench-octavia-deps

system-deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

# uv in a private venv: Debian's system Python refuses pip installs (PEP 668).
$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"

python-deps: $(UV)
	$(UV) sync --frozen --quiet
	$(UV) sync --frozen --quiet --project tests/peers

deps: system-deps python-deps

## The main job: the all-in-one service (API, agent, housekeeping) with a demo load balancer.
run: deps
	$(UV) run lbaas up --demo

## Several network nodes on this machine (RabbitMQ, PostgreSQL, two servers, three agents),
## interactive: lose and restore nodes, kill agents and servers (tests/nodelab).
lab: deps
	$(UV) run python -m tests.nodelab up --nodes 3

## The whole test suite (lint and type checks, unit, functional, end-to-end).
test: deps lint
	$(UV) run pytest -q -p no:cacheprovider tests

lint: python-deps
	$(UV) run ruff check lbaas tests bench
	$(UV) run mypy

unit functional e2e: deps
	$(UV) run pytest -q tests/$@

## Octavia's own API tests (octavia-tempest-plugin) against lbaas and a real Keystone, with a
## report of every failure and skip (also part of `make test`).
octavia-suite: deps
	$(UV) run python -m tests.octavia_suite

bench: deps
	$(UV) run python -m bench.api

## The real Octavia API for `python -m bench.api --octavia` (bench/octavia_env/uv.lock); not
## part of python-deps, so neither `make test` nor CI installs it.
bench-octavia-deps: $(UV)
	$(UV) sync --frozen --quiet --project bench/octavia_env

sample-config: python-deps
	$(UV) run oslo-config-generator --namespace lbaas --namespace oslo.messaging \
		--namespace oslo.policy --namespace keystonemiddleware.auth_token \
		--output-file etc/lbaas.conf.sample
