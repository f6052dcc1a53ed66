"""Test repositories from ../shared/make-test-repo.py (real content, merges, renames, tags)."""
import hashlib
import pathlib
import shutil
import subprocess
import sys
import tempfile

from tests.support.gitcli import git_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAKE_TEST_REPO = ROOT.parent / "shared" / "make-test-repo.py"


def make_test_repo(path, commits, *extra):
    """A bare repository at `path` with `commits` commits; same arguments, same object ids.

    The script is deterministic, so each set of arguments is built once per machine (keyed by the
    script's own hash) and copied: several test directories start from the same histories."""
    key = hashlib.sha256(MAKE_TEST_REPO.read_bytes() + repr((commits, extra)).encode()).hexdigest()[:16]
    cached = pathlib.Path(tempfile.gettempdir()) / "forge-test-repos" / f"{key}.git"
    if not cached.exists():
        building = cached.with_name(f"{key}.{uuid4_hex()}.tmp")
        building.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(MAKE_TEST_REPO), str(building), "--commits", str(commits), *extra],
                       check=True, capture_output=True, env=git_env(), timeout=600)
        try:
            building.rename(cached)
        except OSError:  # another test process built it first
            shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(cached, path)
    return path


def uuid4_hex():
    import uuid
    return uuid.uuid4().hex
