"""Stores on disk, filled from real repositories that real git made. No server, no Django."""
import pathlib
import subprocess
import sys

import pytest

from repos.store import RepoStore
from tests.support.gitcli import git

ROOT = pathlib.Path(__file__).resolve().parents[3]
MAKE_TEST_REPO = ROOT.parent / "shared" / "make-test-repo.py"


@pytest.fixture(scope="session")
def history(tmp_path_factory):
    """A bare make-test-repo history: 150 commits with merged branches, renames, annotated tags."""
    path = tmp_path_factory.mktemp("history") / "src.git"
    subprocess.run([sys.executable, str(MAKE_TEST_REPO), str(path), "--commits", "150"], check=True,
                   capture_output=True)
    # make-test-repo tags every 500 commits; add an annotated, a nested and a lightweight tag.
    git("-C", path, "tag", "-a", "v1.0", "-m", "release 1.0", "main~5")
    git("-C", path, "tag", "-a", "v1.0-nested", "-m", "a tag of a tag", "v1.0")
    git("-C", path, "tag", "light", "main~2")
    return path


@pytest.fixture
def store(tmp_path):
    s = RepoStore.create(tmp_path / "repo.sqlite3")
    yield s
    s.close()
