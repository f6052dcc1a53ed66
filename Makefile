VENV := .venv
PYTHON := $(VENV)/bin/python
# Written after a successful install; make reinstalls only when requirements.txt is newer.
INSTALLED := $(VENV)/.installed
# The suite runs on every core (pytest-xdist), a test module to a worker: its tests share a live
# server and are mostly waiting on git and gunicorn subprocesses. PYTEST_ARGS=-n0 runs it serially.
PYTEST_ARGS ?= -n auto --dist loadfile

.PHONY: setup run test

setup: $(INSTALLED)
	$(PYTHON) repos/store/build_native.py
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput --verbosity 0

run: setup
	exec $(VENV)/bin/gunicorn -c forge/gunicorn.conf.py forge.wsgi

test: setup
	$(PYTHON) -m pytest $(PYTEST_ARGS)

$(PYTHON):
	python3 -m venv $(VENV)

$(INSTALLED): requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@
