# The two commands of the README: `make up` runs the stack, `make test` runs every check.
# Both install what they need first (uv, then the locked Python environment).

SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)

.PHONY: up test check env

up: env
	$(UV) run --frozen brokerstack up

test: env
	bash .ci/test

env: $(UV)
	$(UV) sync --frozen

$(HOME)/.local/bin/uv:
	python3 -m pip install --user --quiet 'uv==0.13.8'
