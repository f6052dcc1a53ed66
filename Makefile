VENV := .venv
PYTHON := $(VENV)/bin/python
# Written after a successful install; make reinstalls only when requirements.txt is newer.
INSTALLED := $(VENV)/.installed
# The suite runs on every core (pytest-xdist), a test module to a worker: its tests share a live
# server and are mostly waiting on git and gunicorn subprocesses. PYTEST_ARGS=-n0 runs it serially.
PYTEST_ARGS ?= -n auto --dist loadfile
# The PostgreSQL pass leaves out what gains nothing from it: tests that never open the main database
# (the per-repository store, the git protocol units, rendering, pack, ref-name and Markdown fuzzing, the
# load-test smoke run on its own SQLite server), and live git-protocol and store-fault tests whose only use
# of the main database is the token check and repository lookup that test_git_auth, test_git_push,
# test_git_rename_collaborators, test_merge_race and test_kill_merge do run on it.
POSTGRES_PASS_SKIPS := --ignore=tests/repos/store --ignore=tests/repos/git --ignore=tests/repos/render \
	--ignore=tests/bench --ignore=tests/fuzz/test_fuzz_pack.py --ignore=tests/fuzz/test_fuzz_refnames.py \
	--ignore=tests/fuzz/test_fuzz_markdown.py --ignore=tests/git/test_git_clone_fetch.py \
	--ignore=tests/git/test_git_shallow_partial.py --ignore=tests/git/test_git_malformed.py \
	--ignore=tests/git/test_git_wire_v2.py --ignore=tests/git/test_git_interrupted.py \
	--ignore=tests/faults/test_kill_push.py --ignore=tests/faults/test_kill_clone.py \
	--ignore=tests/forge/test_ops_gunicorn.py

.PHONY: setup run test fuzz

setup: $(INSTALLED)
	$(PYTHON) repos/store/build_native.py
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput --verbosity 0

run: setup
	exec $(VENV)/bin/gunicorn -c forge/gunicorn.conf.py forge.wsgi

test: setup
	env -u FORGE_TEST_DATABASE_URL $(PYTHON) -m pytest $(PYTEST_ARGS)
	@if [ -n "$$FORGE_TEST_DATABASE_URL" ]; then \
	    echo "== the suite again with PostgreSQL as the main database =="; \
	    $(PYTHON) -m pytest $(PYTEST_ARGS) $(POSTGRES_PASS_SKIPS); \
	else \
	    echo "(PostgreSQL pass skipped: set FORGE_TEST_DATABASE_URL=postgres://USER:PW@HOST/postgres, as .ci/run does)"; \
	fi

# Long fuzzing runs of tests/fuzz: 10,000 random cases per target by default (FORGE_FUZZ_EXAMPLES=N
# to change it, FORGE_FUZZ_DERANDOMIZE=1 to repeat a run); the cases run per target are printed last.
fuzz: setup
	FORGE_FUZZ_EXAMPLES=$${FORGE_FUZZ_EXAMPLES:-10000} $(PYTHON) -m pytest -p no:cacheprovider $(PYTEST_ARGS) \
	    tests/fuzz --hypothesis-show-statistics

$(PYTHON):
	python3 -m venv $(VENV)

$(INSTALLED): requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@
