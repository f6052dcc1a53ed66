"""SIGKILL of every worker during a push and right after it.

tests/git/test_git_interrupted.py kills the workers while the pack is still arriving (spooled,
nothing written to the store yet). These tests cover the later moments:

- while the push is being landed: the store's write-ahead log is growing with the pack's chunks
  inside the one landing transaction when the workers are frozen (SIGSTOP) and then killed;
- right after git reported success: nothing that was acknowledged may be lost.

Each ends with the repository consistent (fsck --strict on a fresh mirror, SQLite integrity, no
half-written pack in the store, no spool left behind by the killed worker), and a retry working.
"""
import os

from tests.support.gitcli import git, popen_git, rev

from .conftest import (
    assert_consistent,
    freeze_workers,
    kill_frozen,
    new_repo,
    noise_commit,
    store_refs,
    wait_until,
)

NOISE_MB = 24  # over the store connection's page cache (16 MB): the transaction spills into the WAL


def _file_size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def _spools(server):
    tmp = os.path.join(server.data_dir, "tmp")
    return sorted(name for name in os.listdir(tmp) if name.endswith(".pack")) if os.path.isdir(tmp) else []


def test_kill_while_the_push_is_landing_changes_nothing(server, alice_token, tmp_path):
    repo, work = new_repo(server, alice_token, tmp_path)
    before = repo.refs()
    tip = noise_commit(work, NOISE_MB, "landing")
    wal = repo.store + "-wal"
    wal_before = _file_size(wal)

    push = popen_git("-C", work, "push", "origin", "main", "main:refs/heads/noise")
    try:
        # Only the landing transaction writes to the store: a growing log means it is under way.
        wait_until(lambda: _file_size(wal) > wal_before + 1024 * 1024 or push.poll() is not None, 120,
                   "the landing transaction to write the pack", interval=0.002)
        frozen = freeze_workers(server)
        assert push.poll() is None, "the push ended before it could be interrupted"
        assert store_refs(repo.store) == before, "the push landed before the kill"
        kill_frozen(server, frozen)
        _, stderr = push.communicate(timeout=60)
    finally:
        if push.poll() is None:
            push.kill()
            push.wait()
    assert push.returncode != 0, f"git reported success for a push that was killed:\n{stderr}"

    assert repo.refs() == before
    assert assert_consistent(repo, tmp_path / "after-kill.git") == before
    assert len(_spools(server)) == 1, "the killed worker's spool should still be there (the next push sweeps it)"

    git("-C", work, "push", "-q", "origin", "main", "main:refs/heads/noise")
    after = assert_consistent(repo, tmp_path / "after-retry.git")
    assert after["refs/heads/main"] == tip and after["refs/heads/noise"] == tip
    assert _spools(server) == [], "the next push did not remove the spool of the killed push"


def test_kill_right_after_the_push_was_acknowledged_loses_nothing(server, alice_token, tmp_path):
    repo, work = new_repo(server, alice_token, tmp_path)
    noise_commit(work, 2, "acked")
    git("-C", work, "tag", "-a", "-m", "a release", "v1.0")
    git("-C", work, "push", "-q", "origin", "main", "main:refs/heads/topic", "v1.0")
    killed = server.kill_workers()
    expected = {"refs/heads/main": rev(work, "main"), "refs/heads/topic": rev(work, "main"),
                "refs/tags/v1.0": rev(work, "v1.0")}
    server.wait_respawned(killed)
    assert repo.refs() == expected
    assert assert_consistent(repo, tmp_path / "after-ack.git") == expected

    # A force push leaves unreachable objects behind and schedules a repack; killing the workers
    # right after it (the repack never runs) leaves a store that still serves everything.
    git("-C", work, "reset", "-q", "--hard", "HEAD~1")
    rewound = noise_commit(work, 1, "rewound")
    git("-C", work, "push", "-q", "--force", "origin", "main")
    server.wait_respawned(server.kill_workers())
    expected["refs/heads/main"] = rewound
    assert assert_consistent(repo, tmp_path / "after-force.git") == expected
    fresh = tmp_path / "fresh"
    git("clone", "-q", repo.url, fresh)
    assert rev(fresh, "HEAD") == rewound
