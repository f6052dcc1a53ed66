"""Pushes cut off in the middle: the client killed, or the server's workers killed (SIGKILL) while the pack
is still arriving through a slow link (tests/support/throttle_proxy.py).

Afterwards nothing may have changed: the advertised refs, the store's row counts, a fresh clone (fsck-clean
and identical to one made before); and the next normal push works."""
import os
import signal
import time

import pytest

from tests.support.gitcli import all_objects, fsck, git, popen_git, refs, rev
from tests.support.throttle_proxy import ThrottleProxy

RANDOM_BYTES = 4 * 1024 * 1024  # incompressible, so the pack is about this big
RATE = 1024 * 1024  # bytes per second through the proxy


def _mirror(url, dest):
    git("clone", "-q", "--mirror", url, dest)
    fsck(dest)
    return refs(dest), all_objects(dest)


@pytest.mark.parametrize("victim", ["client", "server"])
def test_interrupted_push_changes_nothing(forge_server, new_repo, small_source, victim, tmp_path):
    repo = new_repo(seed=small_source)
    work = str(tmp_path / "work")
    git("clone", "-q", repo.url, work)
    before = repo.snapshot()
    state_before = _mirror(repo.url, str(tmp_path / "before.git"))

    for i in range(8):
        with open(os.path.join(work, f"random-{i}.bin"), "wb") as f:
            f.write(os.urandom(RANDOM_BYTES // 8))
    git("-C", work, "add", ".")
    git("-C", work, "commit", "-q", "-m", "several megabytes of noise")
    git("-C", work, "branch", "noise")
    tip = rev(work, "HEAD")

    with ThrottleProxy("127.0.0.1", forge_server.port, rate=RATE) as proxy:
        slow_url = repo.url.replace(f":{forge_server.port}/", f":{proxy.port}/")
        push = popen_git("-C", work, "push", slow_url, "main", "noise")
        try:
            assert proxy.wait_for(RANDOM_BYTES // 2, timeout=60), f"only {proxy.bytes_up} bytes went through"
            assert push.poll() is None, "the push ended before it could be interrupted"
            if victim == "client":
                os.killpg(push.pid, signal.SIGKILL)
            else:
                killed = forge_server.kill_workers()
                assert killed, "no worker to kill"
            _, stderr = push.communicate(timeout=60)
        finally:
            if push.poll() is None:
                os.killpg(push.pid, signal.SIGKILL)
                push.wait()
    assert push.returncode != 0, f"the push succeeded although it was cut off:\n{stderr}"
    if victim == "server":
        forge_server.wait_respawned(killed)
    time.sleep(1)  # whatever the server still does with the broken request, let it finish

    assert repo.snapshot() == before
    assert _mirror(repo.url, str(tmp_path / "after.git")) == state_before

    # and the same push, done normally, goes through
    git("-C", work, "push", "-q", "origin", "main", "noise")
    advertised = repo.ls_remote()
    assert advertised["refs/heads/main"] == tip and advertised["refs/heads/noise"] == tip
    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh)
    fsck(fresh)
    assert rev(fresh, "HEAD") == tip
