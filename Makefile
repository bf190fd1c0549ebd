# lbaas developer entry points. Every target installs what it needs first (Debian 12, as root).
SHELL := /bin/bash
UV_VERSION := 0.13.9
APT_PACKAGES := haproxy keepalived iproute2 iputils-arping postgresql nginx-light wrk curl \
	python3-venv
export UV_LINK_MODE := copy
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: deps system-deps python-deps run test lint unit functional e2e bench sample-config

system-deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@# The distribution's PostgreSQL service is not needed: the tests start their own server.
	@systemctl disable --now postgresql >/dev/null 2>&1 || true

python-deps:
	@command -v uv >/dev/null 2>&1 && uv --version | grep -q "$(UV_VERSION)" || \
		python3 -m pip install -q --root-user-action=ignore "uv==$(UV_VERSION)"
	uv sync --frozen --quiet

deps: system-deps python-deps

## The main job: the all-in-one service with a demo load balancer.
run: deps
	uv run lbaas up --demo

## The whole test suite (plus lint and type checks).
test: deps lint
	uv run pytest -q -p no:cacheprovider tests

lint:
	uv run ruff check lbaas tests bench
	uv run mypy

unit functional e2e: deps
	uv run pytest -q tests/$@

bench: deps
	uv run python -m bench.api

sample-config: python-deps
	uv run oslo-config-generator --namespace lbaas --namespace oslo.messaging \
		--namespace oslo.policy --output-file etc/lbaas.conf.sample
