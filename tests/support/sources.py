"""Test repositories from ../shared/make-test-repo.py (real content, merges, renames, tags)."""
import pathlib
import subprocess
import sys

from tests.support.gitcli import git_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAKE_TEST_REPO = ROOT.parent / "shared" / "make-test-repo.py"


def make_test_repo(path, commits, *extra):
    """A bare repository at `path` with `commits` commits; same arguments, same object ids."""
    subprocess.run([sys.executable, str(MAKE_TEST_REPO), str(path), "--commits", str(commits), *extra],
                   check=True, capture_output=True, env=git_env(), timeout=600)
    return path
