# The two commands of the README: `make demo` (the main job) and `make test`.
# Both run `setup` first: a virtualenv with the package, and the tools built from Go modules
# (cached under .tools/, keyed by version; the first run takes a while).
# Then they run inside a private network namespace (rig/netns.py, needs root), where kwok's pod IPs
# are local addresses that real requests can reach. It has no route out: whatever needs a package
# registry is built before entering it.

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
IN_NETNS := $(VENV_PYTHON) -m rig.netns

.PHONY: setup demo test lint cluster rig bench

setup: $(INSTALLED)
	$(VENV_PYTHON) -m rig.tools

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(IN_NETNS) $(VENV_PYTHON) -m rig.demo

# examples/with-pulumi-kubernetes needs the optional pulumi-kubernetes plugin: built here, outside.
test: setup lint
	$(VENV_PYTHON) -m rig.tools --with pulumi-kubernetes
	$(IN_NETNS) $(VENV_PYTHON) -m pytest

lint: $(INSTALLED)
	$(VENV)/bin/ruff check pulumi_canary rig bench sdk_tests examples __main__.py
	$(VENV)/bin/mypy

cluster: setup
	$(VENV_PYTHON) -m rig.cluster --workdir .demo/cluster

# The cluster plus the data plane (pod backends, Traefik, the MSE emulator, Prometheus), by hand.
rig: setup
	$(IN_NETNS) $(VENV_PYTHON) -m rig.serve

# The peer (pulumi-kubernetes) needs its plugin; the time to traffic needs the data plane's namespace.
bench: setup
	$(VENV_PYTHON) -m rig.tools --with pulumi-kubernetes
	$(IN_NETNS) $(VENV_PYTHON) -m bench.run
