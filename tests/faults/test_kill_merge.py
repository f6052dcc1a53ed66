"""SIGKILL of every worker while a pull request is being merged through the API.

A merge writes to two databases: the repository's store (the new commit and the moved branch, one
transaction) and then the main database (the pull request marked merged). A kill can land before
the first, or between the two. Both moments are reached deterministically from outside:

- before the store write: the test holds the store's write lock, so the merge waits at its landing
  transaction (its pack already spooled), and the workers are killed there;
- between the two: the test holds a lock on the pull request's row in the main database (through
  Django, so on SQLite or PostgreSQL alike), the merge moves the branch and then waits to record it,
  and the workers are killed once the branch has moved.

Either the merge fully happened or not at all, as seen by the next reader: in the second case the
pull request must read as merged (with the commit the merge made), whatever the merge method.
"""
import os
import subprocess
import threading

import pytest
import requests

from tests.support.gitcli import git, rev

from .conftest import (
    StoreWriteLock,
    assert_consistent,
    freeze_workers,
    kill_frozen,
    new_repo,
    store_refs,
    wait_until,
)

ROW_LOCK = """
import sys
from django.db import transaction
from django.db.models import F
from issues.models import PullRequest
with transaction.atomic():
    PullRequest.objects.filter(issue__repository__name={name!r}, issue__number={number}).update(
        merge_state=F("merge_state"))
    print("LOCKED", flush=True)
    sys.stdin.readline()
"""


class Api:
    def __init__(self, server, token, repo):
        self.base = f"{server.url}/api/v3/repos/{repo.owner}/{repo.name}"
        self.headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}

    def call(self, method, path, **kw):
        return requests.request(method, self.base + path, headers=self.headers, timeout=120, **kw)


def _pull_request(server, token, tmp_path, label):
    """A repository with a clean pull request `topic` -> main: (repo, api, number)."""
    repo, work = new_repo(server, token, tmp_path, prefix=f"merge-{label}")
    git("-C", work, "checkout", "-q", "-b", "topic")
    for i in range(3):
        (work / f"topic-{i}.txt").write_text(f"topic {i}\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", f"topic {i}")
    git("-C", work, "checkout", "-q", "main")
    (work / "main-moved.txt").write_text("main moved on\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "main moves on")
    git("-C", work, "push", "-q", "origin", "topic", "main")
    api = Api(server, token, repo)
    made = api.call("POST", "/pulls", json={"title": f"Topic {label}", "head": "topic", "base": "main"})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    # Reading it computes its mergeability, so the merge itself writes nothing before the store.
    assert api.call("GET", f"/pulls/{number}").json()["mergeable"] is True
    return repo, api, number


def _merge_in_background(api, number, method):
    result = {}

    def run():
        try:
            result["response"] = api.call("PUT", f"/pulls/{number}/merge", json={"merge_method": method})
        except requests.RequestException as error:
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _spooled_writes(server):
    tmp = os.path.join(server.data_dir, "tmp")
    return [n for n in os.listdir(tmp) if n.startswith("forge-write-")] if os.path.isdir(tmp) else []


@pytest.mark.parametrize("method", ["merge", "squash"])
def test_kill_before_the_store_write_merges_nothing(server, alice_token, tmp_path, method):
    repo, api, number = _pull_request(server, alice_token, tmp_path, f"before-{method}")
    before = store_refs(repo.store)
    with StoreWriteLock(repo.store) as lock:
        thread, result = _merge_in_background(api, number, method)
        # The merge spools its pack before it lands; with the lock held it can go no further.
        wait_until(lambda: _spooled_writes(server), 60, "the merge to spool its pack")
        kill_frozen(server, freeze_workers(server))
        thread.join(60)
        lock.release()
    assert "error" in result or result["response"].status_code >= 500, result
    assert store_refs(repo.store) == before
    pull = api.call("GET", f"/pulls/{number}").json()
    assert (pull["merged"], pull["state"]) == (False, "open")
    assert_consistent(repo, tmp_path / "after-kill.git")

    retry = api.call("PUT", f"/pulls/{number}/merge", json={"merge_method": method})
    assert retry.status_code == 200, retry.text
    pull = api.call("GET", f"/pulls/{number}").json()
    assert (pull["merged"], pull["state"], pull["merge_commit_sha"]) == (True, "closed", retry.json()["sha"])
    assert assert_consistent(repo, tmp_path / "after-retry.git")["refs/heads/main"] == retry.json()["sha"]


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_kill_between_the_store_and_the_database(server, alice_token, tmp_path, method):
    repo, api, number = _pull_request(server, alice_token, tmp_path, f"between-{method}")
    old_main = store_refs(repo.store)["refs/heads/main"]
    holder = None
    try:
        with StoreWriteLock(repo.store):
            # First hold the merge at its store write, so that the row lock below is taken after
            # everything the merge writes to the main database before it moves the branch.
            thread, result = _merge_in_background(api, number, method)
            wait_until(lambda: _spooled_writes(server), 60, "the merge to spool its pack")
            holder = subprocess.Popen(
                [server.python, "manage.py", "shell", "-c", ROW_LOCK.format(name=repo.name, number=number)],
                cwd=server.root, env=server.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            # (the shell prints a line of its own first)
            assert any(line.strip() == "LOCKED" for line in holder.stdout), holder.stderr.read()
        # The store is free: the merge moves main, then waits for the pull request's row.
        new_main = wait_until(lambda: store_refs(repo.store)["refs/heads/main"] != old_main
                              and store_refs(repo.store)["refs/heads/main"], 60, "the merge to move main")
        kill_frozen(server, freeze_workers(server))
        thread.join(60)
    finally:
        if holder is not None:
            holder.communicate("\n", timeout=60)
    assert "error" in result or result["response"].status_code >= 500, result

    # The branch moved; the next reader must see the pull request merged by that commit.
    pull = api.call("GET", f"/pulls/{number}").json()
    assert (pull["merged"], pull["state"], pull["merge_commit_sha"]) == (True, "closed", new_main), pull
    again = api.call("PUT", f"/pulls/{number}/merge", json={"merge_method": method})
    assert again.status_code == 405, again.text
    assert store_refs(repo.store)["refs/heads/main"] == new_main
    refs = assert_consistent(repo, tmp_path / "after.git")
    clone = tmp_path / "clone"
    git("clone", "-q", repo.url, clone)
    assert rev(clone, "HEAD") == refs["refs/heads/main"] == new_main
    for i in range(3):
        assert (clone / f"topic-{i}.txt").read_text() == f"topic {i}\n"
