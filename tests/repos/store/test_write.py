"""Forge writing history itself (repos/store/write.py): objects byte-identical to git's, landed
with the ref moved by compare-and-swap, and a stale write refused with nothing left behind."""
import os
import shutil
import subprocess

import pytest

from repos.store import RepoStore
from repos.store.packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, object_id
from repos.store.trees import tree_entries
from repos.store.write import (
    RefMoved, Signature, WriteRefused, commit_object, objects_with_ids, tree_object, write_and_move_ref,
)
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

AUTHOR = Signature("Ada Lovelace", "ada@example.org", 1_700_000_000, 60)
COMMITTER = Signature("Forge", "forge@example.org", 1_700_000_100, -330)


@pytest.fixture(scope="module")
def template(history, tmp_path_factory):
    """The history landed once; each test gets its own copy of the file."""
    directory = tmp_path_factory.mktemp("write-template")
    with RepoStore.create(directory / "store.sqlite3") as store:
        mirror(store, directory, history)
    return directory / "store.sqlite3"


@pytest.fixture
def filled(template, tmp_path):
    copy = tmp_path / "store.sqlite3"
    shutil.copyfile(template, copy)
    with RepoStore.open(copy) as store:
        yield store


def _new_commit_on(store, ref, path=b"added.txt", content=b"written by Forge\n", message="Add a file"):
    """A commit on top of `ref` adding one file at the root: (objects, commit oid, parent)."""
    parent = store.ref(ref)
    _, raw = store.get(parent)
    tree = bytes.fromhex(raw.split(b"\n", 1)[0][5:].decode())
    entries = [e for e in tree_entries(store.get(tree)[1]) if e[1] != path]
    blob = (OBJ_BLOB, content)
    entries.append((0o100644, path, object_id(*blob)))
    new_tree = (OBJ_TREE, tree_object(entries))
    commit = (OBJ_COMMIT, commit_object(object_id(*new_tree), [parent], AUTHOR, COMMITTER, message))
    return objects_with_ids(blob, new_tree, commit), object_id(*commit), parent


def test_commit_bytes_equal_git_commit_tree(history):
    tree = out("-C", history, "rev-parse", "main^{tree}").strip()
    parents = out("-C", history, "rev-parse", "main", "main~3").split()
    env = {"GIT_AUTHOR_NAME": AUTHOR.name, "GIT_AUTHOR_EMAIL": AUTHOR.email, "GIT_AUTHOR_DATE": "1700000000 +0100",
           "GIT_COMMITTER_NAME": COMMITTER.name, "GIT_COMMITTER_EMAIL": COMMITTER.email,
           "GIT_COMMITTER_DATE": "1700000100 -0530"}
    expected = subprocess.run(["git", "-C", str(history), "commit-tree", tree, "-p", parents[0], "-p", parents[1],
                               "-m", "Merge it\n\nWith a body, and ünïcode."],
                              env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout.strip()
    raw = commit_object(bytes.fromhex(tree), [bytes.fromhex(p) for p in parents], AUTHOR, COMMITTER,
                        "Merge it\n\nWith a body, and ünïcode.")
    assert object_id(OBJ_COMMIT, raw).hex() == expected


def test_tree_order_equals_git_mktree(tmp_path):
    git("init", "-q", "--bare", tmp_path / "t.git")
    blob = out("-C", tmp_path / "t.git", "hash-object", "-w", "--stdin", input="x\n").strip()
    sub = out("-C", tmp_path / "t.git", "mktree", input=f"100644 blob {blob}\tinner\n").strip()
    listing = [(0o100644, b"a.b", blob), (0o040000, b"a", sub), (0o100755, b"a-c", blob), (0o100644, b"a0", blob),
               (0o120000, b"link", blob), (0o040000, b"b", sub)]
    text = "".join(f"{mode:06o} {'tree' if mode == 0o040000 else 'blob'} {oid}\t{name.decode()}\n"
                   for mode, name, oid in listing)
    expected = out("-C", tmp_path / "t.git", "mktree", input=text).strip()
    raw = tree_object([(mode, name, bytes.fromhex(oid)) for mode, name, oid in listing])
    assert object_id(OBJ_TREE, raw).hex() == expected


def test_a_written_commit_is_stored_indexed_and_served_like_a_pushed_one(filled, tmp_path):
    objects, commit, parent = _new_commit_on(filled, "refs/heads/main")
    write_and_move_ref(filled, objects, "refs/heads/main", parent, commit)
    assert filled.ref("refs/heads/main") == commit
    for oid, (type_num, raw) in objects.items():
        assert filled.get(oid) == (type_num, raw)
    node = filled.graph.node(commit)
    assert node.parents == (parent,)
    assert filled.con.execute("SELECT 1 FROM commit_paths cp JOIN paths p ON p.id = cp.path_id"
                              " WHERE p.path = ? AND cp.commit_oid = ?", (b"added.txt", commit)).fetchone()


def test_moving_a_ref_to_an_existing_commit_writes_no_pack(filled):
    main = filled.ref("refs/heads/main")
    packs = filled.con.execute("SELECT count(*) FROM packs").fetchone()[0]
    write_and_move_ref(filled, {}, "refs/heads/fast-forwarded", None, main)
    assert filled.ref("refs/heads/fast-forwarded") == main
    assert filled.con.execute("SELECT count(*) FROM packs").fetchone()[0] == packs


def test_a_stale_write_is_refused_and_leaves_nothing(filled):
    objects, commit, parent = _new_commit_on(filled, "refs/heads/main")
    other = bytes.fromhex(
        filled.con.execute("SELECT hex(oid) FROM commits WHERE oid != ? LIMIT 1", (parent,)).fetchone()[0])
    packs = filled.con.execute("SELECT count(*) FROM packs").fetchone()[0]
    with pytest.raises(RefMoved):
        write_and_move_ref(filled, objects, "refs/heads/main", other, commit)
    assert filled.ref("refs/heads/main") == parent
    assert not any(filled.has(oid) for oid in objects)
    assert filled.con.execute("SELECT count(*) FROM packs").fetchone()[0] == packs
    # Creating a ref that exists is refused the same way.
    with pytest.raises(RefMoved):
        write_and_move_ref(filled, objects, "refs/heads/main", None, commit)


def test_a_commit_whose_tree_is_missing_is_refused(filled):
    parent = filled.ref("refs/heads/main")
    commit = (OBJ_COMMIT, commit_object(b"\x01" * 20, [parent], AUTHOR, COMMITTER, "Dangling"))
    with pytest.raises(WriteRefused, match="missing"):
        write_and_move_ref(filled, objects_with_ids(commit), "refs/heads/main", parent, object_id(*commit))
    assert filled.ref("refs/heads/main") == parent
    assert not filled.has(object_id(*commit))


def test_objects_must_match_their_ids(filled):
    parent = filled.ref("refs/heads/main")
    with pytest.raises(ValueError):
        write_and_move_ref(filled, {b"\x02" * 20: (OBJ_BLOB, b"not that")}, "refs/heads/x", None, parent)


def test_a_push_racing_a_write_both_survive_or_the_loser_is_told(filled, tmp_path):
    """Two connections to one file, as two workers: the merge read main, then a push moved it.
    The merge's write fails cleanly; the pushed commit stays; retried on the new tip, it lands."""
    path = filled.path
    merge_objects, merge_commit, read_tip = _new_commit_on(filled, "refs/heads/main", message="The merge")
    with RepoStore.open(path) as pusher:
        pushed_objects, pushed_commit, _ = _new_commit_on(pusher, "refs/heads/main", path=b"pushed.txt",
                                                          message="The push")
        write_and_move_ref(pusher, pushed_objects, "refs/heads/main", read_tip, pushed_commit)
    with pytest.raises(RefMoved):
        write_and_move_ref(filled, merge_objects, "refs/heads/main", read_tip, merge_commit)
    assert filled.ref("refs/heads/main") == pushed_commit
    retry_objects, retry_commit, tip = _new_commit_on(filled, "refs/heads/main", message="The merge, again")
    assert tip == pushed_commit
    write_and_move_ref(filled, retry_objects, "refs/heads/main", tip, retry_commit)
    assert filled.graph.node(retry_commit).parents == (pushed_commit,)
    assert filled.has(pushed_commit)
