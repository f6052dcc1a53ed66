"""gunicorn under Forge: a clone that takes longer than the worker timeout is not cut, a SIGHUP reload
keeps serving (a clone in flight completes, new requests are answered throughout), and the start banner
tells how to sign in once accounts exist."""
import json
import os
import signal
import socket
import time

import pytest
import requests

from tests.support.gitcli import fsck, git, out, popen_git
from tests.support.servers import ForgeServer
from tests.support.throttle_proxy import ThrottleProxy

TIMEOUT = 2  # seconds: FORGE_GUNICORN_TIMEOUT of this module's server
PACK_MB = 8  # incompressible content, so the pack is about this size: half can sit in socket buffers
RATE = 1024 * 1024  # bytes per second the slow client reads


class SlowReader(ThrottleProxy):
    """A ThrottleProxy that slows the server->client direction instead (a client that reads a clone
    slowly). ThrottleProxy's `up` flag picks the direction that is slowed and counted, so flipping it
    is all it takes: bytes_up and wait_for() then count what went to the client."""

    def _pump(self, src, dst, up):
        if not up:
            # src is the connection to Forge: a small receive buffer, so that Forge's writes wait for the
            # slow reader instead of filling megabytes of kernel buffers at once.
            src.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        super()._pump(src, dst, not up)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ForgeServer(tmp_path_factory.mktemp("ops-gunicorn") / "data",
                      extra_env={"FORGE_GUNICORN_TIMEOUT": str(TIMEOUT), "FORGE_WORKERS": "2",
                                 "FORGE_SIGNUP": "closed"})
    srv.manage("migrate", "--noinput")
    srv.adduser("alice")  # before the start: the banner then tells how to sign in
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def big_repo(server, tmp_path_factory):
    """alice/big: one commit of incompressible files, so a clone sends about PACK_MB megabytes."""
    src = tmp_path_factory.mktemp("ops-big") / "src"
    git("init", "-q", src)
    for i in range(PACK_MB):
        (src / f"blob{i}.bin").write_bytes(os.urandom(1024 * 1024))
    git("-C", src, "add", ".")
    git("-C", src, "commit", "-q", "-m", "big")
    git("-C", src, "push", "-q", server.repo_url("alice", "big", server.token("alice")), "main")
    return out("-C", src, "rev-parse", "HEAD").strip()


@pytest.fixture
def slow(server):
    proxy = SlowReader("127.0.0.1", server.port, rate=RATE).start()
    yield proxy
    proxy.stop()


def upload_pack_lines(server):
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        lines = [json.loads(line) for line in f if line.startswith("{")]
    return [line for line in lines if line.get("route") == "git-upload-pack"]


def wait_for_pack_line(server, seen, timeout=15):
    """The log line of the clone's pack, written when Forge closed the streamed response."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [line for line in upload_pack_lines(server) if line["request_id"] not in seen
               and line["bytes"] > PACK_MB * 1024 * 1024 // 2]
        if new:
            return new[0]
        time.sleep(0.1)
    raise AssertionError("no log line for the clone's upload-pack")


def check_clone(path, head):
    fsck(path)
    assert out("-C", path, "rev-parse", "HEAD").strip() == head


def test_banner_tells_how_to_sign_in_once_accounts_exist(server):
    log = server.log_tail(200_000)
    assert f"Forge is listening on {server.url}" in log
    assert f"Sign in at {server.url}/login" in log
    assert "manage.py adduser NAME" in log  # sign-up is closed on this server
    assert "No accounts yet" not in log


def test_clone_slower_than_the_worker_timeout_is_not_cut(server, big_repo, slow, tmp_path):
    seen = {line["request_id"] for line in upload_pack_lines(server)}
    workers = set(server.worker_pids())
    dest = tmp_path / "clone"
    git("clone", "-q", f"http://127.0.0.1:{slow.port}/alice/big.git", dest)
    check_clone(dest, big_repo)
    line = wait_for_pack_line(server, seen)
    # Forge itself was busy sending for longer than the timeout (not just the proxy's buffers draining),
    # and the worker that sent it was neither killed nor replaced
    assert line["status"] == 200 and line["duration_ms"] > TIMEOUT * 1000, line
    assert set(server.worker_pids()) == workers
    assert "WORKER TIMEOUT" not in server.log_tail(200_000)


def test_sighup_reloads_workers_without_dropping_a_clone_or_a_request(server, big_repo, slow, tmp_path):
    old_workers = set(server.worker_pids())
    dest = tmp_path / "clone"
    clone = popen_git("clone", "-q", f"http://127.0.0.1:{slow.port}/alice/big.git", dest)
    try:
        assert slow.wait_for(256 * 1024, timeout=60), "the clone did not start"
        os.kill(server.master_pid, signal.SIGHUP)
        answers = []
        new_workers = set()
        while clone.poll() is None or not new_workers:
            # a fresh connection each time, so whichever worker is accepting now answers
            response = requests.get(server.url + "/-/health", headers={"Connection": "close"}, timeout=30)
            answers.append(response.status_code)
            new_workers = set(server.worker_pids()) - old_workers
            time.sleep(0.05)
        _, stderr = clone.communicate(timeout=120)
    finally:
        if clone.poll() is None:
            os.killpg(clone.pid, signal.SIGKILL)
    assert clone.returncode == 0, stderr
    check_clone(dest, big_repo)
    assert new_workers, "SIGHUP started no new workers"
    assert answers and set(answers) == {200}
    # the old workers leave once their last request (the clone) is done
    deadline = time.monotonic() + 60
    while set(server.worker_pids()) & old_workers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(server.worker_pids()) & old_workers
    assert requests.get(server.url + "/-/health").status_code == 200
