"""Shared pieces of the fault tests: a live Forge per module, repositories on it, and the checks that
every fault test ends with (the repository is consistent, accepted pushes are intact).

A fault test breaks something on purpose (SIGKILL of the workers, a full disk, a store lock held
from outside) at a moment it makes deterministic by an external condition it can observe (bytes in
a spool file, the store's write-ahead log growing, a lock it holds itself), never by a hook in
Forge's code. Afterwards `assert_consistent` checks the repository from both sides: a fresh mirror
clone passes `git fsck --strict` and has exactly the refs the server advertises, and the store file
passes `PRAGMA integrity_check` with no pack half there (every pack's chunks add up to its size, no
chunk or object row points at a pack that is not there).
"""
import os
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from repos.store.db import CHUNK_ROWID_SHIFT
from tests.support import servers
from tests.support.gitcli import fsck, git, ls_remote, refs, rev


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One live Forge for the whole module (its own data directory)."""
    forge = servers.start_server(tmp_path_factory.mktemp("faults"))
    yield forge
    forge.stop()


@pytest.fixture(scope="module")
def alice_token(server):
    return server.token("alice", scopes="repo:read,repo:write,issues:write,pulls:merge")


# --- repositories ---------------------------------------------------------------------------------------------

@dataclass
class Repo:
    server: object
    owner: str
    name: str
    token: str

    @property
    def url(self):
        return self.server.repo_url(self.owner, self.name, self.token)

    @property
    def store(self):
        return self.server.store_db(self.owner, self.name)

    def refs(self):
        """What the server advertises, HEAD and peeled tags left out (as for-each-ref lists them)."""
        return {k: v for k, v in ls_remote(self.url).items() if k != "HEAD" and not k.endswith("^{}")}


_counter = iter(range(1, 10**6))


def new_repo(server, token, tmp_path, prefix="r", owner="alice", commits=3):
    """A repository with a few small commits on main, pushed by git; returns (Repo, work tree)."""
    repo = Repo(server, owner, f"{prefix}-{next(_counter)}", token)
    server.createrepo(f"{owner}/{repo.name}")
    work = tmp_path / f"work-{repo.name}"
    git("init", "-q", "-b", "main", work)
    # The noise commits are random bytes: compressing them only costs time (the pack is as big).
    git("-C", work, "config", "core.compression", "0")
    for i in range(commits):
        (work / f"file-{i}.txt").write_text(f"line {i}\n" * (i + 1))
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", f"commit {i}")
    git("-C", work, "remote", "add", "origin", repo.url)
    git("-C", work, "push", "-q", "origin", "main")
    return repo, work


def noise_commit(work, megabytes, label, files=8):
    """A commit of incompressible files (so the pack is about `megabytes` big); returns its id."""
    size = int(megabytes * 1024 * 1024) // files
    for i in range(files):
        with open(os.path.join(work, f"noise-{label}-{i}.bin"), "wb") as f:
            f.write(os.urandom(size))
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", f"{megabytes} MB of noise ({label})")
    return rev(work, "HEAD")


# --- consistency --------------------------------------------------------------------------------------------

def store_problems(path):
    """What is wrong inside a store file: [] when it passes SQLite's integrity check and every pack
    is whole (chunks add up to its size, no row points at a pack that is not there)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        problems = [row[0] for row in con.execute("PRAGMA integrity_check") if row[0] != "ok"]
        packs = dict(con.execute("SELECT id, size FROM packs"))
        stored = {}
        for rowid, length in con.execute("SELECT id, length(data) FROM pack_chunks"):
            pack_id = rowid >> CHUNK_ROWID_SHIFT
            stored[pack_id] = stored.get(pack_id, 0) + length
        for pack_id, size in packs.items():
            if stored.get(pack_id, 0) != size:
                problems.append(f"pack {pack_id}: {stored.get(pack_id, 0)} bytes of chunks for a {size}-byte pack")
        problems += [f"chunks of pack {p} that has no packs row" for p in stored if p not in packs]
        orphans = con.execute("SELECT count(*) FROM objects WHERE pack_id NOT IN (SELECT id FROM packs)").fetchone()[0]
        if orphans:
            problems.append(f"{orphans} objects in packs that are not there")
        beyond = con.execute("SELECT count(*) FROM objects o JOIN packs p ON o.pack_id = p.id "
                             "WHERE o.offset + o.length > p.size - 20").fetchone()[0]
        if beyond:
            problems.append(f"{beyond} objects reach past the end of their pack")
        missing = con.execute("SELECT name FROM refs WHERE oid NOT IN (SELECT oid FROM objects)").fetchall()
        problems += [f"ref {name} points at an object the store lacks" for (name,) in missing]
        return problems
    finally:
        con.close()


def store_refs(path):
    """{name: hex oid} read straight from the store file (what is committed, whatever the server does)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        return {name: oid.hex() for name, oid in con.execute("SELECT name, oid FROM refs")}
    finally:
        con.close()


def assert_consistent(repo, dest):
    """A fresh mirror clone is fsck-clean and holds exactly the advertised refs; the store is whole.
    Returns the refs."""
    advertised = repo.refs()
    assert store_problems(repo.store) == []
    git("clone", "-q", "--mirror", repo.url, dest)
    fsck(str(dest))
    assert refs(str(dest)) == advertised
    return advertised


# --- processes ----------------------------------------------------------------------------------------------

def wait_until(predicate, timeout, what, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def freeze_workers(server):
    """SIGSTOP every worker (so whatever it is doing stops exactly there); returns their pids."""
    return server.signal_workers(signal.SIGSTOP)


def kill_frozen(server, pids):
    """SIGKILL the frozen workers and wait for the master to start new ones."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.wait_respawned(pids)


class StoreWriteLock:
    """Holds a repository store's write lock from the test process (BEGIN IMMEDIATE), as another
    writer would; readers go on (WAL)."""

    def __init__(self, path):
        self.con = sqlite3.connect(path, isolation_level=None, timeout=30)

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")
        return self

    def release(self):
        if self.con.in_transaction:
            self.con.execute("ROLLBACK")

    def __exit__(self, *exc):
        self.release()
        self.con.close()
