"""Objects stored without a ref (the git-data API's blobs, trees, commits) land as a checked pack,
and survive a repack for the grace period, as git keeps unreachable objects until gc.pruneExpire."""
import pytest

from repos.store.objectwrite import MissingObjects, ObjectsRefused, store_objects
from repos.store.packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE
from repos.store.packgen import stream_whole
from repos.store.repack import UNREACHABLE_GRACE_SECONDS
from repos.store.write import (
    Signature,
    commit_object,
    objects_with_ids,
    tree_object,
    write_and_move_ref,
)
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

AUTHOR = Signature("A U Thor", "author@example.com", 1700000000, 120)


def one(type_num, raw):
    return objects_with_ids((type_num, raw))


def oid_of(objects):
    return next(iter(objects))


def age_marks(store, seconds):
    """As if every object stored without a ref had been written `seconds` earlier."""
    store.con.execute("UPDATE unreferenced_objects SET written_at = written_at - ?", (seconds,))


def counts(store):
    return store.stats()["packs"], store.stats()["objects"], store.refs()


def test_blob_tree_commit_stored_one_by_one_match_git_and_move_no_ref(store, tmp_path):
    scratch = tmp_path / "scratch.git"
    git("init", "-q", "--bare", scratch)
    blob = one(OBJ_BLOB, b"hello\n")
    assert store_objects(store, blob, str(tmp_path)).stored == 1
    assert oid_of(blob).hex() == out("-C", scratch, "hash-object", "--stdin", input="hello\n").strip()
    tree = one(OBJ_TREE, tree_object([(0o100644, b"hello.txt", oid_of(blob))]))
    store_objects(store, tree, str(tmp_path))
    git("-C", scratch, "hash-object", "-w", "--stdin", input="hello\n")
    assert oid_of(tree).hex() == out("-C", scratch, "mktree",
                                     input=f"100644 blob {oid_of(blob).hex()}\thello.txt\n").strip()
    commit = one(OBJ_COMMIT, commit_object(oid_of(tree), [], AUTHOR, AUTHOR, "first"))
    result = store_objects(store, commit, str(tmp_path))
    assert (result.stored, result.already_present) == (1, 0)
    env = {"GIT_AUTHOR_NAME": "A U Thor", "GIT_AUTHOR_EMAIL": "author@example.com",
           "GIT_AUTHOR_DATE": "1700000000 +0200", "GIT_COMMITTER_NAME": "A U Thor",
           "GIT_COMMITTER_EMAIL": "author@example.com", "GIT_COMMITTER_DATE": "1700000000 +0200"}
    assert oid_of(commit).hex() == out("-C", scratch, "commit-tree", oid_of(tree).hex(), "-m", "first",
                                       env=env).strip()
    assert store.refs() == []
    assert store.get(oid_of(blob)) == (OBJ_BLOB, b"hello\n")
    assert store.graph.node(oid_of(commit)).tree == oid_of(tree)   # indexed: a ref may move to it
    assert not store.is_clean()
    again = store_objects(store, blob, str(tmp_path))
    assert (again.stored, again.already_present, again.pack_id) == (0, 1, None)


def test_what_points_at_absent_objects_is_refused_and_nothing_is_written(store, tmp_path):
    mirror(store, tmp_path, _small_repo(tmp_path))
    before = counts(store)
    ghost = bytes.fromhex("12" * 20)
    with pytest.raises(MissingObjects):
        store_objects(store, one(OBJ_TREE, tree_object([(0o100644, b"a", ghost)])), str(tmp_path))
    with pytest.raises(MissingObjects):
        tree = one(OBJ_TREE, b"")
        store_objects(store, {**tree, **one(OBJ_COMMIT, commit_object(oid_of(tree), [ghost], AUTHOR,
                                                                       AUTHOR, "orphan"))}, str(tmp_path))
    blob = one(OBJ_BLOB, b"x")
    unsorted = b"100644 b\0" + oid_of(blob) + b"100644 a\0" + oid_of(blob)
    with pytest.raises(ObjectsRefused):
        store_objects(store, {**blob, **one(OBJ_TREE, unsorted)}, str(tmp_path))
    with pytest.raises(ValueError):
        store_objects(store, {ghost: (OBJ_BLOB, b"not its id")}, str(tmp_path))
    assert counts(store) == before
    assert store.is_clean()


def test_a_repack_between_the_steps_keeps_the_blob_and_the_end_result_is_whole(store, tmp_path):
    repo = _small_repo(tmp_path)
    refs = mirror(store, tmp_path, repo)
    main = refs["refs/heads/main"]
    blob = one(OBJ_BLOB, b"made through the API\n")
    store_objects(store, blob, str(tmp_path))
    _kept, dropped = store.repack(str(tmp_path))
    assert dropped == 0 and store.has(oid_of(blob))
    tree = one(OBJ_TREE, tree_object(_entries(store, main) + [(0o100644, b"api.txt", oid_of(blob))]))
    store_objects(store, tree, str(tmp_path))
    store.repack(str(tmp_path))
    commit = one(OBJ_COMMIT, commit_object(oid_of(tree), [main], AUTHOR, AUTHOR, "via the API\n"))
    store_objects(store, commit, str(tmp_path))
    store.repack(str(tmp_path))
    write_and_move_ref(store, {}, "refs/heads/main", main, oid_of(commit), str(tmp_path))
    _kept, dropped = store.repack(str(tmp_path))
    assert dropped == 0
    assert store.is_clean()   # everything kept is reachable again
    bare = tmp_path / "after.git"
    git("init", "-q", "--bare", bare)
    _index_into(bare, b"".join(stream_whole(store)))
    git("-C", bare, "update-ref", "refs/heads/main", oid_of(commit).hex())
    git("-C", bare, "fsck", "--strict", "--no-dangling")
    assert out("-C", bare, "show", "main:api.txt") == "made through the API\n"


def test_unreachable_objects_go_once_the_grace_has_passed(store, tmp_path):
    mirror(store, tmp_path, _small_repo(tmp_path))
    blob = one(OBJ_BLOB, b"forgotten\n")
    store_objects(store, blob, str(tmp_path))
    age_marks(store, UNREACHABLE_GRACE_SECONDS - 3600)
    store.repack(str(tmp_path))
    assert store.has(oid_of(blob)) and not store.is_clean()
    # The repack kept the blob's age: it does not start a new grace period.
    age_marks(store, 2 * 3600)
    _kept, dropped = store.repack(str(tmp_path))
    assert dropped == 1 and not store.has(oid_of(blob))
    assert store.is_clean()
    assert store.con.execute("SELECT count(*) FROM unreferenced_objects").fetchone()[0] == 0


def test_writing_an_object_again_starts_its_grace_again(store, tmp_path):
    mirror(store, tmp_path, _small_repo(tmp_path))
    blob = one(OBJ_BLOB, b"written twice\n")
    store_objects(store, blob, str(tmp_path))
    age_marks(store, UNREACHABLE_GRACE_SECONDS + 3600)
    again = store_objects(store, blob, str(tmp_path))   # as git freshens the object's mtime
    assert (again.stored, again.already_present) == (0, 1)
    _kept, dropped = store.repack(str(tmp_path))
    assert dropped == 0 and store.has(oid_of(blob))


def test_what_a_force_push_left_behind_is_still_dropped_at_once(store, tmp_path):
    repo = _small_repo(tmp_path)
    refs = mirror(store, tmp_path, repo)
    blob = one(OBJ_BLOB, b"kept\n")
    store_objects(store, blob, str(tmp_path))
    rewound = bytes.fromhex(out("-C", repo, "rev-parse", "main~1").strip())
    write_and_move_ref(store, {}, "refs/heads/main", refs["refs/heads/main"], rewound, str(tmp_path))
    _kept, dropped = store.repack(str(tmp_path))
    assert dropped == 3   # the commit, its tree and its new blob; only the API's blob stays
    assert store.has(oid_of(blob)) and not store.has(refs["refs/heads/main"])


def test_a_kept_commit_keeps_what_it_needs_however_old(store, tmp_path):
    repo = _small_repo(tmp_path)
    refs = mirror(store, tmp_path, repo)
    main = refs["refs/heads/main"]
    # An old commit nothing reaches, and a new one (stored now) on top of it.
    old_blob = one(OBJ_BLOB, b"old\n")
    old_tree = one(OBJ_TREE, tree_object([(0o100644, b"old.txt", oid_of(old_blob))]))
    old_commit = one(OBJ_COMMIT, commit_object(oid_of(old_tree), [main], AUTHOR, AUTHOR, "old"))
    store_objects(store, {**old_blob, **old_tree, **old_commit}, str(tmp_path))
    age_marks(store, UNREACHABLE_GRACE_SECONDS + 3600)
    new_commit = one(OBJ_COMMIT, commit_object(oid_of(old_tree), [oid_of(old_commit)], AUTHOR, AUTHOR, "new"))
    store_objects(store, new_commit, str(tmp_path))
    _kept, dropped = store.repack(str(tmp_path))
    assert dropped == 0
    for oid in (oid_of(old_blob), oid_of(old_tree), oid_of(old_commit), oid_of(new_commit)):
        assert store.has(oid)
    assert store.graph.is_ancestor(main, oid_of(new_commit))


def _small_repo(tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    for number in range(3):
        (work / f"f{number}.txt").write_text(f"file {number}\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", f"commit {number}")
    return work


def _entries(store, commit):
    from repos.store.trees import tree_entries
    return tree_entries(store.get(store.graph.node(commit).tree)[1])


def _index_into(bare, pack_bytes):
    import subprocess
    subprocess.run(["git", "-C", str(bare), "index-pack", "--stdin", "--strict"], input=pack_bytes,
                   capture_output=True, check=True)
