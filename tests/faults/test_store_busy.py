"""SQLite busy: the repository's store write-locked from outside (BEGIN IMMEDIATE from the test, as a
long write would), and many writers at once on one repository.

Landing a push waits for the store's write lock as long as the busy timeout (db.py's 120 s, or
FORGE_STORE_LOCK_TIMEOUT seconds; this module's server waits 4 s):
- a lock held for less than that: the push waits, then lands;
- a lock held for longer: the push is refused with a clear message, nothing changed, and the same
  push succeeds once the lock is gone.
Then pushes, API commits and issue comments on one repository all at once (on a server with the
default timeouts): every one succeeds, no "database is locked", no 500.
"""
import base64
import threading
import time

import pytest
import requests

from tests.support import servers
from tests.support.gitcli import git, popen_git, rev

from .conftest import StoreWriteLock, assert_consistent, new_repo

LOCK_TIMEOUT = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    forge = servers.start_server(tmp_path_factory.mktemp("busy"), extra_env={"FORGE_STORE_LOCK_TIMEOUT": str(LOCK_TIMEOUT)})
    yield forge
    forge.stop()


def _commit(work, name):
    (work / f"{name}.txt").write_text(f"{name}\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", name)
    return rev(work, "HEAD")


def test_a_push_waits_for_a_short_lock(server, alice_token, tmp_path):
    repo, work = new_repo(server, alice_token, tmp_path)
    tip = _commit(work, "waited")
    with StoreWriteLock(repo.store):
        push = popen_git("-C", work, "push", "origin", "main")
        time.sleep(LOCK_TIMEOUT / 4)  # the lock is held this long (the fault), well under the timeout
        assert push.poll() is None, "the push finished while the store was locked"
    _, stderr = push.communicate(timeout=120)
    assert push.returncode == 0, stderr
    assert assert_consistent(repo, tmp_path / "after.git")["refs/heads/main"] == tip


def test_a_lock_held_past_the_timeout_refuses_the_push_clearly(server, alice_token, tmp_path):
    repo, work = new_repo(server, alice_token, tmp_path)
    before = repo.refs()
    tip = _commit(work, "refused")
    with StoreWriteLock(repo.store):
        # The lock outlives the push: it is released only after git has its answer.
        push = popen_git("-C", work, "push", "origin", "main")
        _, stderr = push.communicate(timeout=120)
    assert push.returncode != 0
    assert "the repository is busy" in stderr and "nothing was changed" in stderr, stderr
    assert "[remote rejected]" in stderr, stderr
    assert repo.refs() == before
    assert_consistent(repo, tmp_path / "after-refusal.git")

    git("-C", work, "push", "-q", "origin", "main")
    assert assert_consistent(repo, tmp_path / "after-retry.git")["refs/heads/main"] == tip


def test_an_api_write_under_a_lock_held_past_the_timeout(server, alice_token, tmp_path):
    repo, _work = new_repo(server, alice_token, tmp_path)
    before = repo.refs()
    url = f"{server.url}/api/v3/repos/{repo.owner}/{repo.name}/contents/locked.txt"
    headers = {"Authorization": f"token {alice_token}"}
    body = {"message": "while locked", "content": base64.b64encode(b"locked\n").decode()}
    with StoreWriteLock(repo.store):
        answer = requests.put(url, json=body, headers=headers, timeout=120)
    # A refusal with the reason (409, as for any write that could not be made), not a bare 500.
    assert answer.status_code == 409, (answer.status_code, answer.text[:300])
    assert "the repository is busy" in answer.json()["message"], answer.text
    assert repo.refs() == before
    retry = requests.put(url, json=body, headers=headers, timeout=120)
    assert retry.status_code == 201, retry.text
    assert_consistent(repo, tmp_path / "after.git")


N = 5


def test_many_writers_at_once(tmp_path_factory, tmp_path):
    """Pushes to branches, API commits and issue comments on one repository at the same moment."""
    forge = servers.start_server(tmp_path_factory.mktemp("writers"))
    try:
        token = forge.token("alice", scopes="repo:read,repo:write,issues:write")
        repo, work = new_repo(forge, token, tmp_path, prefix="writers")
        api = f"{forge.url}/api/v3/repos/{repo.owner}/{repo.name}"
        headers = {"Authorization": f"token {token}"}
        issue = requests.post(f"{api}/issues", json={"title": "chatter"}, headers=headers, timeout=60)
        assert issue.status_code == 201, issue.text
        number = issue.json()["number"]
        clones = []
        for i in range(N):
            clone = tmp_path / f"clone-{i}"
            git("clone", "-q", work, clone)
            git("-C", clone, "remote", "set-url", "origin", repo.url)
            clones.append((clone, _commit(clone, f"pushed-{i}")))

        barrier = threading.Barrier(3 * N)
        results = {}

        def push(i):
            barrier.wait()
            results[("push", i)] = git("-C", clones[i][0], "push", "origin", f"main:refs/heads/push-{i}",
                                       check=False, timeout=180)

        def commit(i):
            barrier.wait()
            results[("api", i)] = requests.put(
                f"{api}/contents/api-{i}.txt", headers=headers, timeout=180,
                json={"message": f"api {i}", "content": base64.b64encode(b"api\n").decode(), "branch": f"api-{i}"})

        def comment(i):
            barrier.wait()
            results[("comment", i)] = requests.post(f"{api}/issues/{number}/comments", headers=headers, timeout=180,
                                                    json={"body": f"comment {i}"})

        # API commits to branches that do not exist yet are refused by GitHub's rules: make them first.
        main = rev(work, "HEAD")
        for i in range(N):
            made = requests.post(f"{api}/git/refs", headers=headers, timeout=60,
                                 json={"ref": f"refs/heads/api-{i}", "sha": main})
            assert made.status_code == 201, made.text
        threads = [threading.Thread(target=f, args=(i,)) for i in range(N) for f in (push, commit, comment)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        failures = {key: (r.returncode, r.stderr) if hasattr(r, "returncode") else (r.status_code, r.text[:300])
                    for key, r in results.items()
                    if (r.returncode if hasattr(r, "returncode") else r.status_code not in (200, 201))}
        assert not failures, failures
        refs = assert_consistent(repo, tmp_path / "after.git")
        for i in range(N):
            assert refs[f"refs/heads/push-{i}"] == clones[i][1]
            assert refs[f"refs/heads/api-{i}"] == results[("api", i)].json()["commit"]["sha"]
        comments = requests.get(f"{api}/issues/{number}/comments", headers=headers, timeout=60).json()
        assert sorted(c["body"] for c in comments) == sorted(f"comment {i}" for i in range(N))
        assert "database is locked" not in forge.log_tail(200000)
    finally:
        forge.stop()
