"""SIGKILL of every worker while a clone or a fetch is streaming its pack.

The client is frozen (SIGSTOP) once a megabyte of the pack has reached its temporary pack file, so
the server is surely still blocked writing the rest (the pack is far bigger than the socket
buffers); then the workers are killed and the client resumes. It must fail (non-zero exit, no
repository left behind that looks like a finished clone, a fetching repository unchanged and
fsck-clean), the master must start new workers, and the next clone or fetch must work.
"""
import glob
import os
import signal

import pytest

from tests.support.gitcli import fsck, git, popen_git, refs, rev

from .conftest import new_repo, noise_commit, wait_until

NOISE_MB = 32  # several times what the socket buffers hold


@pytest.fixture(scope="module")
def big_repo(server, alice_token, tmp_path_factory):
    """(repo, a clone made before the big commit arrived, the big commit's id)."""
    tmp = tmp_path_factory.mktemp("big")
    repo, work = new_repo(server, alice_token, tmp, prefix="big")
    early = tmp / "early"
    git("clone", "-q", repo.url, early)
    tip = noise_commit(work, NOISE_MB, "clone")
    git("-C", work, "push", "-q", "origin", "main")
    return repo, early, tip


def _receiving(dest, nbytes):
    for path in glob.glob(os.path.join(dest, "objects", "pack", "tmp_pack_*")) + glob.glob(
            os.path.join(dest, ".git", "objects", "pack", "tmp_pack_*")):
        try:
            if os.path.getsize(path) > nbytes:
                return True
        except FileNotFoundError:
            pass
    return False


def _kill_server_mid_transfer(server, proc, dest):
    try:
        wait_until(lambda: _receiving(dest, 1 << 20) or proc.poll() is not None, 120, "the pack to start arriving")
        assert proc.poll() is None, "the transfer ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGSTOP)
        killed = server.kill_workers()
        assert killed, "no worker to kill"
        server.wait_respawned(killed)
        os.killpg(proc.pid, signal.SIGCONT)
        return proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_kill_during_clone(server, big_repo, tmp_path):
    repo, _early, tip = big_repo
    dest = str(tmp_path / "clone")
    proc = popen_git("clone", repo.url, dest)
    _, stderr = _kill_server_mid_transfer(server, proc, dest)
    assert proc.returncode != 0, f"a clone cut off by the server's death reported success:\n{stderr}"
    assert "early EOF" in stderr or "fatal:" in stderr, stderr
    # git removes what it had begun: nothing is left that could pass for a clone.
    assert not os.path.exists(dest), os.listdir(dest)

    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh)
    fsck(fresh)
    assert rev(fresh, "HEAD") == tip


def test_kill_during_fetch(server, big_repo, tmp_path):
    _repo, early, tip = big_repo
    before = refs(str(early))
    # (a pack, never loose objects, however few: the pack's progress is what the test watches)
    proc = popen_git("-C", early, "-c", "fetch.unpackLimit=1", "fetch", "origin")
    _, stderr = _kill_server_mid_transfer(server, proc, str(early))
    assert proc.returncode != 0, f"a fetch cut off by the server's death reported success:\n{stderr}"
    assert refs(str(early)) == before, "the failed fetch moved refs"
    fsck(str(early))
    # (git itself leaves its temporary tmp_pack_* file behind for `git gc` to remove; it is not
    # part of the repository, as fsck above shows)

    git("-C", early, "fetch", "-q", "origin")
    fsck(str(early))
    assert rev(early, "origin/main") == tip
