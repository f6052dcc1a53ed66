"""`manage.py backup` and `manage.py restore` against live servers.

A Forge with users, tokens, a public and a private repository with history, an issue and pull requests
(one merged) is backed up WHILE a thread keeps pushing to it; the backup is restored into a fresh data
directory (and, on PostgreSQL, a fresh database), and a second Forge started on it must serve everything
acknowledged before the backup began, with sound stores and clones, and every push acknowledged during the
backup either entirely there or entirely absent. A damaged backup is refused with nothing changed.
The main database is only reached through Forge itself (HTTP, manage.py); store files are opened directly.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support import pg, servers
from tests.support.gitcli import commit_file, fsck, git, out, refs
from tests.support.sources import make_test_repo

SCOPES = "repo:read,repo:write,issues:write,pulls:merge"


class Pusher(threading.Thread):
    """Pushes one new commit after another to branch `live`, noting when each push was acknowledged."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.stop, self.acked, self.error = work, threading.Event(), [], None

    def run(self):
        try:
            number = 0
            while not self.stop.is_set():
                number += 1
                oid = commit_file(self.work, "live.txt", f"push {number}\n" * 50, f"live push {number}")
                git("-C", self.work, "push", "-q", "origin", "HEAD:refs/heads/live")
                self.acked.append((time.monotonic(), oid))
        except Exception as error:  # noqa: BLE001 -- surfaced by the test, not lost in the thread
            self.error = error

    def acked_before(self, moment):
        return [oid for at, oid in self.acked if at < moment]


def api(server, token, method, path, **kw):
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(method, server.url + "/api/v3" + path, headers=headers, timeout=60, **kw)


def sha256_tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def unstarted_server(data_dir):
    """A Forge for `data_dir` whose commands can run before it serves (restore comes first)."""
    server = servers.ForgeServer(data_dir)
    if pg.enabled():
        server.env["FORGE_DATABASE_URL"] = pg.new_server_database(server.env)  # dropped at the session's end
    return server


def seed_accounts(server):
    """alice (every scope we need) and bob (read and write), with tokens, and alice's private repository,
    in one manage.py process: each start-up costs seconds on a busy machine."""
    code = ("from accounts.services import create_user\nfrom accounts.tokens import issue_token\n"
            "from repos.services import create_repository\n"
            f"alice = create_user('alice', password='pw-alice-secret')\n"
            f"print('TOKEN', issue_token(alice, 'backup-tests', {SCOPES!r})[1])\n"
            "bob = create_user('bob', password='pw-bob-secret')\n"
            "print('TOKEN', issue_token(bob, 'backup-tests', 'repo:read,repo:write')[1])\n"
            "create_repository(alice, 'secret', private=True)\n")
    printed = server.manage("shell", "-c", code)
    tokens = [line.split()[1] for line in printed.splitlines() if line.startswith("TOKEN ")]
    assert len(tokens) == 2, printed
    return tokens


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    base = tmp_path_factory.mktemp("backup")
    origin = servers.start_server(base / "origin")
    restored = None
    pusher = None
    try:
        token, bob_token = seed_accounts(origin)

        # The public repository: real history (merges, tags, '/' branches) pushed with git.
        source = base / "source"
        make_test_repo(source, 40)
        git("-C", source, "push", "-q", "--mirror", origin.repo_url("alice", "public", token))
        public_refs = refs(source)
        # The private one: a few commits of its own.
        secret_work = base / "secret-work"
        git("clone", "-q", origin.repo_url("alice", "secret", token), secret_work)
        for n in range(3):
            commit_file(secret_work, f"s{n}.txt", f"secret {n}\n")
        git("-C", secret_work, "push", "-q", "origin", "HEAD:refs/heads/main")
        secret_head = out("-C", secret_work, "rev-parse", "HEAD").strip()

        # An issue, a pull request merged by Forge (a merge commit only the store and the main database
        # know), and one left open.
        work = base / "work"
        git("clone", "-q", origin.repo_url("alice", "public", token), work)
        git("-C", work, "checkout", "-q", "-b", "topic/merged", "origin/main")
        commit_file(work, "merged.txt", "merged\n")
        git("-C", work, "checkout", "-q", "-b", "topic/open", "origin/main")
        open_head = commit_file(work, "open.txt", "open\n")
        git("-C", work, "push", "-q", "origin", "topic/merged", "topic/open")
        issue = api(origin, token, "POST", "/repos/alice/public/issues", json={"title": "Backed-up issue",
                                                                             "body": "kept"})
        assert issue.status_code == 201, issue.text
        merged = api(origin, token, "POST", "/repos/alice/public/pulls",
                     json={"title": "To merge", "head": "topic/merged", "base": "main"}).json()
        merge = api(origin, token, "PUT", f"/repos/alice/public/pulls/{merged['number']}/merge",
                    json={"merge_method": "merge"})
        assert merge.status_code == 200, merge.text
        opened = api(origin, token, "POST", "/repos/alice/public/pulls",
                     json={"title": "Left open", "head": "topic/open", "base": "main"}).json()

        # Something in uploads/ (nothing in Forge writes there yet; a backup must still carry it).
        upload = Path(origin.data_dir, "uploads", "avatars", "alice.png")
        upload.parent.mkdir(parents=True)
        upload.write_bytes(bytes(range(256)) * 40)

        # Back up while pushes go on.
        git("-C", work, "checkout", "-q", "-b", "live", "origin/main")
        pusher = Pusher(work)
        pusher.start()
        while len(pusher.acked) < 2 and pusher.is_alive():
            time.sleep(0.05)
        backup_dir = base / "backup"
        began = time.monotonic()
        printed = origin.manage("backup", backup_dir)
        ended = time.monotonic()
        while not any(at >= ended for at, _ in pusher.acked) and pusher.is_alive():
            time.sleep(0.05)  # one more push after the backup: the server still takes them
        pusher.stop.set()
        pusher.join(60)
        assert pusher.error is None, pusher.error

        restored = unstarted_server(base / "restored")
        restore_printed = restored.manage("restore", backup_dir)
        restored.start()
        yield {
            "origin": origin, "restored": restored, "token": token, "bob_token": bob_token,
            "backup_dir": backup_dir, "printed": printed, "restore_printed": restore_printed,
            "public_refs": public_refs, "secret_head": secret_head, "issue": issue.json(),
            "merged": api(origin, token, "GET", f"/repos/alice/public/pulls/{merged['number']}").json(),
            "opened": opened, "open_head": open_head, "pusher": pusher,
            "before": pusher.acked_before(began), "during": [oid for at, oid in pusher.acked if began <= at < ended],
            "base": base,
        }
    finally:
        if pusher is not None:
            pusher.stop.set()
        if restored is not None:
            restored.stop()
        origin.stop()


def clone(server, token, name, dest):
    git("clone", "-q", "--mirror", server.repo_url("alice", name, token), dest)
    fsck(dest)
    return refs(dest)


def test_backup_prints_one_line_and_writes_a_manifest(scenario):
    assert scenario["printed"].count("\n") == 1 and scenario["printed"].startswith("backed up 2 repositories")
    assert scenario["restore_printed"].startswith("restored 2 repositories")
    manifest = json.loads((scenario["backup_dir"] / "manifest.json").read_text())
    assert {r["full_name"] for r in manifest["repositories"]} == {"alice/public", "alice/secret"}
    assert manifest["main_db"]["engine"] == ("postgresql" if pg.enabled() else "sqlite")
    kinds = sorted(entry["kind"] for entry in manifest["files"])
    assert kinds == ["main-db", "secret_key", "store", "store", "upload"]
    restored_upload = Path(scenario["restored"].data_dir, "uploads", "avatars", "alice.png")
    assert restored_upload.read_bytes() == bytes(range(256)) * 40
    assert manifest["files"][0]["kind"] == "main-db"  # copied first: see repos/backup.py
    # Single files: no WAL or temporary file left beside the copies.
    leftovers = [p.name for p in scenario["backup_dir"].rglob("*") if p.name.endswith(("-wal", "-shm", ".tmp"))]
    assert leftovers == []


def test_pushes_went_on_during_the_backup(scenario):
    pusher = scenario["pusher"]
    assert len(scenario["before"]) >= 2
    # The backup holds no long lock: pushes were acknowledged while it ran and after it.
    assert scenario["during"], "no push was acknowledged while the backup ran"
    assert pusher.acked[-1][1] not in scenario["before"] + scenario["during"]


def test_restored_repositories_hold_every_push_acknowledged_before_the_backup(scenario, tmp_path):
    restored, token = scenario["restored"], scenario["token"]
    public = clone(restored, token, "public", tmp_path / "public.git")
    for name, oid in scenario["public_refs"].items():
        if name.startswith(("refs/heads/", "refs/tags/")) and name != "refs/heads/main":
            assert public[name] == oid, name
    merge_sha = scenario["merged"]["merge_commit_sha"]
    assert public["refs/heads/main"] == merge_sha
    assert public["refs/heads/topic/open"] == scenario["open_head"]
    secret = clone(restored, token, "secret", tmp_path / "secret.git")
    assert secret["refs/heads/main"] == scenario["secret_head"]

    # Pushes to `live`, in order: all those acknowledged before the backup are there, and those
    # acknowledged during it form an unbroken prefix after them (each push entirely there or absent).
    live = public["refs/heads/live"]
    present = [oid for _, oid in scenario["pusher"].acked
               if git("-C", tmp_path / "public.git", "merge-base", "--is-ancestor", oid, live, check=False).returncode == 0]
    acked = [oid for _, oid in scenario["pusher"].acked]
    assert present == acked[:len(present)]
    assert set(scenario["before"]) <= set(present)
    assert live == present[-1]
    for oid in acked[len(present):]:
        assert git("-C", tmp_path / "public.git", "cat-file", "-e", oid, check=False).returncode != 0


def test_restored_stores_are_sound(scenario):
    manifest = json.loads((scenario["backup_dir"] / "manifest.json").read_text())
    for repo in manifest["repositories"]:
        path = Path(scenario["restored"].data_dir) / repo["file"]
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)], repo["full_name"]
            dangling = con.execute("SELECT name FROM refs WHERE oid NOT IN (SELECT oid FROM objects)").fetchall()
            assert dangling == [], repo["full_name"]
        finally:
            con.close()


def test_users_tokens_issues_and_pulls_are_restored(scenario):
    restored, token = scenario["restored"], scenario["token"]
    assert api(restored, token, "GET", "/user").json()["login"] == "alice"
    assert api(restored, scenario["bob_token"], "GET", "/user").json()["login"] == "bob"
    issue = api(restored, token, "GET", f"/repos/alice/public/issues/{scenario['issue']['number']}").json()
    assert (issue["title"], issue["body"]) == ("Backed-up issue", "kept")
    merged = api(restored, token, "GET", f"/repos/alice/public/pulls/{scenario['merged']['number']}").json()
    assert merged["merged"] and merged["merge_commit_sha"] == scenario["merged"]["merge_commit_sha"]
    opened = api(restored, token, "GET", f"/repos/alice/public/pulls/{scenario['opened']['number']}").json()
    assert opened["state"] == "open" and opened["head"]["sha"] == scenario["open_head"]
    # Still private: invisible without a token, and to bob.
    assert api(restored, None, "GET", "/repos/alice/secret").status_code == 404
    assert api(restored, scenario["bob_token"], "GET", "/repos/alice/secret").status_code == 404
    # The restored Forge takes pushes.
    assert api(restored, token, "POST", "/repos/alice/public/issues", json={"title": "after"}).status_code == 201


def test_restore_refuses_to_replace_existing_data(scenario):
    # Refused before anything is touched, even with the restored Forge running on that data.
    again = scenario["restored"].manage("restore", scenario["backup_dir"], check=False)
    assert again.returncode != 0 and again.stdout == ""
    assert "already holds data" in again.stderr and "--force" in again.stderr, again.stderr


def flip_byte(path):
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x01]))


def test_a_damaged_backup_is_refused_with_nothing_changed(scenario):
    base, backup_dir = scenario["base"], scenario["backup_dir"]
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    store = next(entry["path"] for entry in manifest["files"] if entry["kind"] == "store")
    damaged = base / "damaged"
    shutil.copytree(backup_dir, damaged)
    flip_byte(damaged / store)
    # A fresh Forge (its secret key made beforehand, so that nothing needs creating): --force or not,
    # a damaged backup changes nothing.
    target = unstarted_server(base / "target")
    os.makedirs(target.data_dir)
    Path(target.data_dir, "secret_key").write_text("a key of its own\n")
    before = sha256_tree(target.data_dir)
    refused = target.manage("restore", damaged, "--force", check=False)
    assert refused.returncode != 0 and refused.stdout == ""
    assert f"{store}: damaged" in refused.stderr, refused.stderr
    assert sha256_tree(target.data_dir) == before


def test_verify_backup_checks_every_file_and_the_manifest(scenario, tmp_path):
    from repos.backup import BackupError, _manifest_digest, verify_backup

    backup_dir = scenario["backup_dir"]
    assert verify_backup(backup_dir)["format"] == "forge-backup"
    for name in ("main.pgdump" if pg.enabled() else "main.sqlite3", "secret_key"):
        copy = tmp_path / name
        shutil.copytree(backup_dir, copy)
        flip_byte(copy / name)
        with pytest.raises(BackupError, match=f"{name}: damaged"):
            verify_backup(copy)
    edited = tmp_path / "edited"
    shutil.copytree(backup_dir, edited)
    text = (edited / "manifest.json").read_text()
    (edited / "manifest.json").write_text(text.replace("alice/secret", "alice/sekret"))
    with pytest.raises(BackupError, match="manifest.json is damaged"):
        verify_backup(edited)
    escaping = tmp_path / "escaping"
    shutil.copytree(backup_dir, escaping)
    manifest = json.loads((escaping / "manifest.json").read_text())
    manifest["files"].append({"path": "uploads/../../evil", "kind": "upload", "size": 0,
                              "sha256": hashlib.sha256(b"").hexdigest()})
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (escaping / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="not a path a backup may hold"):
        verify_backup(escaping)
    truncated = tmp_path / "truncated"
    shutil.copytree(backup_dir, truncated)
    (truncated / "manifest.json").unlink()
    with pytest.raises(BackupError, match="incomplete"):
        verify_backup(truncated)


def test_backup_refuses_a_directory_that_is_not_empty(tmp_path):
    from repos.backup import BackupError, backup

    (tmp_path / "something").write_text("x")
    with pytest.raises(BackupError, match="not an empty directory"):
        backup(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["something"]
