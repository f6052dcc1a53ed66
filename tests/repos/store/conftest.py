"""Stores on disk, filled from real repositories that real git made. No server, no Django."""
import pytest

from repos.store import RepoStore
from tests.support.gitcli import git
from tests.support.sources import make_test_repo


@pytest.fixture(scope="session")
def history(tmp_path_factory):
    """A bare make-test-repo history: 150 commits with merged branches, renames, annotated tags."""
    path = make_test_repo(tmp_path_factory.mktemp("history") / "src.git", 150)
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
