"""A full disk: Forge's whole data directory (main database, stores, spools) on a small tmpfs.

A push that does not fit must be refused with a clear reason in git's output (not a bare 500), with
the refs unchanged, the repository consistent and the pushes accepted earlier intact; it must fail
cleanly at either place the space can run out: while the pack is spooled, or while it is written
into the store. Reading (pages, clones) goes on while the disk is full, and once space is freed
pushes and sign-ins work again.

Needs root (mount); skipped with the reason when the mount is refused.
"""
import os
import subprocess

import pytest
import requests

from tests.support import servers
from tests.support.gitcli import git, popen_git, rev

from .conftest import assert_consistent, new_repo, noise_commit

SIZE_MB = 48
MB = 1024 * 1024


@pytest.fixture(scope="module")
def full_disk_server(tmp_path_factory):
    mount_point = tmp_path_factory.mktemp("tmpfs") / "data"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount_point)], check=False,
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the data directory: {mounted.stderr.strip()}")
    forge = None
    try:
        forge = servers.start_server(mount_point)
        yield forge, mount_point
    finally:
        if forge is not None:
            forge.stop()
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


class Filler:
    """A file that takes the disk's free space, all or all but some."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "filler.bin")

    def leave_free(self, nbytes):
        self.remove()
        free = self.free()
        with open(self.path, "wb") as f:
            remaining = max(0, free - nbytes)
            block = b"\0" * MB
            try:
                while remaining > 0:
                    remaining -= f.write(block[:min(MB, remaining)])
            except OSError:
                pass

    def free(self):
        st = os.statvfs(os.path.dirname(self.path))
        return st.f_bavail * st.f_frsize

    def remove(self):
        if os.path.exists(self.path):
            os.unlink(self.path)


@pytest.fixture
def filler(full_disk_server):
    fill = Filler(str(full_disk_server[1]))
    yield fill
    fill.remove()


@pytest.fixture(scope="module")
def accepted(full_disk_server, tmp_path_factory):
    """A repository with a push accepted before the disk fills: (repo, work tree, refs)."""
    forge, _ = full_disk_server
    token = forge.token("alice")
    repo, work = new_repo(forge, token, tmp_path_factory.mktemp("full"), prefix="full")
    noise_commit(work, 2, "accepted")
    git("-C", work, "push", "-q", "origin", "main", "main:refs/heads/kept")
    return repo, work, repo.refs()


@pytest.mark.parametrize("free_mb, where", [(2, "spooling the pack"), (12, "writing it into the store")])
def test_a_push_that_does_not_fit_is_refused_clearly(full_disk_server, accepted, filler, tmp_path, free_mb, where):
    forge, _ = full_disk_server
    repo, work, first = accepted
    before = repo.refs()
    assert {k: before[k] for k in first} == first, "an accepted push was lost"
    git("-C", work, "checkout", "-q", "-B", f"big-{free_mb}", "main")
    tip = noise_commit(work, 8, f"big-{free_mb}")
    filler.leave_free(free_mb * MB)

    push = popen_git("-C", work, "push", "origin", f"big-{free_mb}")
    _, stderr = push.communicate(timeout=300)
    assert push.returncode != 0, f"the push succeeded on a full disk ({where}):\n{stderr}"
    print(f"full disk, {where}:", [line for line in stderr.splitlines() if "error" in line or "rejected" in line])
    assert "the server's disk is full" in stderr or "No space left on device" in stderr, stderr
    assert "nothing was changed" in stderr, stderr
    assert "[remote rejected]" in stderr or "unpacker error" in stderr, stderr

    # Still full: what was accepted before is intact and can be read, pages answer.
    assert repo.refs() == before
    assert assert_consistent(repo, tmp_path / "while-full.git") == before
    page = requests.get(f"{forge.url}/{repo.owner}/{repo.name}", timeout=60)
    assert page.status_code == 200
    spools = [n for n in os.listdir(os.path.join(forge.data_dir, "tmp")) if n.endswith(".pack")]
    assert spools == [], f"a refused push left its spool on the full disk: {spools}"

    filler.remove()
    git("-C", work, "push", "-q", "origin", f"big-{free_mb}")
    after = assert_consistent(repo, tmp_path / "after.git")
    assert after[f"refs/heads/big-{free_mb}"] == tip
    assert {k: after[k] for k in before} == before


def test_the_site_on_a_full_disk(full_disk_server, accepted, filler, tmp_path):
    """With no byte free: pages and clones still work; what needs to write fails without taking
    the site down; once space is back, signing in (a session write) works."""
    forge, _ = full_disk_server
    repo, _work, first = accepted
    before = repo.refs()
    assert {k: before[k] for k in first} == first, "an accepted push was lost"
    forge.adduser("carol")
    fresh_token = forge.token("carol")  # never used: its first use records last_used_at (a write)
    filler.leave_free(0)
    assert filler.free() < MB

    statuses = {}
    for path in ("/", f"/{repo.owner}/{repo.name}", f"/{repo.owner}/{repo.name}/commits/main", "/login"):
        statuses[path] = requests.get(forge.url + path, timeout=60).status_code
    session = requests.Session()
    login = session.get(f"{forge.url}/login", timeout=60)
    signin = session.post(f"{forge.url}/login", timeout=60, allow_redirects=False,
                          data={"username": "alice", "password": "pw-alice-secret",
                                "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                          headers={"Referer": f"{forge.url}/login"})
    clone = git("clone", "-q", forge.repo_url(repo.owner, repo.name, fresh_token), tmp_path / "clone", check=False)
    print("full disk: pages", statuses, "login page", login.status_code, "sign-in", signin.status_code,
          "clone with a fresh token", clone.returncode, clone.stderr[-300:])
    assert all(status == 200 for status in statuses.values()), statuses
    assert clone.returncode == 0, clone.stderr
    # Saving the session fails: a 503 that says the disk is full, not a bare 500.
    assert signin.status_code in (302, 503), signin.status_code
    if signin.status_code == 503:
        assert "Retry-After" in signin.headers and "Nothing was changed" in signin.text

    filler.remove()
    session = requests.Session()
    session.get(f"{forge.url}/login", timeout=60)
    signin = session.post(f"{forge.url}/login", timeout=60, allow_redirects=False,
                          data={"username": "alice", "password": "pw-alice-secret",
                                "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                          headers={"Referer": f"{forge.url}/login"})
    assert signin.status_code == 302, signin.status_code
    assert session.get(f"{forge.url}/{repo.owner}/{repo.name}", timeout=60).status_code == 200
    assert assert_consistent(repo, tmp_path / "after.git") == before
    assert rev(tmp_path / "clone", "HEAD") == before["refs/heads/main"]
