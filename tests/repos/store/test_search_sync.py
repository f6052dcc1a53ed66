"""needs_sync: a search asks it on every request, so it must only read, and must say yes whenever
sync_index has something to do."""
from repos.store import search as index
from tests.repos.store.helpers import mirror, pack_of, push
from tests.support.gitcli import git, out


def test_needs_sync_follows_the_tip_and_the_commits(store, tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "a.txt").write_text("one\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "One")
    git("-C", work, "branch", "side")
    assert not index.needs_sync(store, "refs/heads/main")  # empty: nothing to index
    (tmp_path / "m1").mkdir()
    mirror(store, tmp_path / "m1", work)
    assert index.needs_sync(store, "refs/heads/main")
    index.sync_index(store, "refs/heads/main")
    assert not index.needs_sync(store, "refs/heads/main")
    changes = store.con.total_changes
    index.needs_sync(store, "refs/heads/main")
    assert store.con.total_changes == changes
    # A commit on another branch: the files at main are current, the commit index is not.
    git("-C", work, "checkout", "-q", "side")
    (work / "b.txt").write_text("two\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "Two on the side")
    old = store.ref("refs/heads/side")
    new = bytes.fromhex(out("-C", work, "rev-parse", "side").strip())
    outcome = push(store, tmp_path, pack_of(work, "side", "^main"), {"refs/heads/side": (old, new)})
    assert not any(u.error for u in outcome.updates)
    assert index.needs_sync(store, "refs/heads/main")
    index.sync_index(store, "refs/heads/main")
    assert not index.needs_sync(store, "refs/heads/main")


def test_sync_after_a_push_landed_under_an_open_read(store, tmp_path):
    """A store kept open holds blob handles from its last reads; a push landing through another
    connection meanwhile must not make the next sync's write lock fail at once ("database is locked",
    seen under load when a search index caught up while pushes went on)."""
    from repos.store import RepoStore

    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "a.txt").write_text("one\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "One")
    (tmp_path / "m1").mkdir()
    mirror(store, tmp_path / "m1", work)
    index.sync_index(store, "refs/heads/main")
    blob = bytes.fromhex(out("-C", work, "rev-parse", "main:a.txt").strip())
    assert store.get(blob)[1] == b"one\n"  # leaves a blob handle open: a read at this moment

    (work / "a.txt").write_text("two\n")
    git("-C", work, "commit", "-q", "-am", "Two")
    old, new = store.ref("refs/heads/main"), bytes.fromhex(out("-C", work, "rev-parse", "main").strip())
    with RepoStore.open(store.path) as pusher:
        outcome = push(pusher, tmp_path, pack_of(work, "main", "^main~1"), {"refs/heads/main": (old, new)})
    assert not any(u.error for u in outcome.updates)

    index.sync_index(store, "refs/heads/main")
    assert not index.needs_sync(store, "refs/heads/main")
