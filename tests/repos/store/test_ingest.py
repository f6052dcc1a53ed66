"""Receiving packs: what git sends is indexed exactly, thin packs resolve against the store, and
anything malformed is refused before a byte is stored."""
import hashlib
import struct
import zlib

import pytest

from repos.store.ingest import IngestError
from repos.store.packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, encode_entry_header, object_header
from tests.repos.store.helpers import mirror, pack_of, push, refs_of
from tests.support.gitcli import out


def git_objects(repo, *revs):
    lines = out("-C", repo, "rev-list", "--objects", *(revs or ("--all",))).splitlines()
    return {bytes.fromhex(line.split(" ", 1)[0]) for line in lines}


def test_every_object_reads_back_byte_identical(store, tmp_path, history):
    mirror(store, tmp_path, history)
    expected = git_objects(history)
    stored = {row[0] for row in store.con.execute("SELECT oid FROM objects")}
    assert stored == expected
    for oid in expected:
        type_num, data = store.get(oid)
        assert hashlib.sha1(object_header(type_num, len(data)) + data).digest() == oid


def test_thin_pack_resolves_against_stored_objects(store, tmp_path, history):
    refs = refs_of(history)
    main = refs["refs/heads/main"]
    old = bytes.fromhex(out("-C", history, "rev-parse", "main~20").strip())
    push(store, tmp_path, pack_of(history, "main~20"), {"refs/heads/main": (None, old)})
    thin = pack_of(history, "main", "^main~20", thin=True)
    outcome = push(store, tmp_path, thin, {"refs/heads/main": (old, main)})
    assert [u.error for u in outcome.updates] == [None]
    assert {row[0] for row in store.con.execute("SELECT oid FROM objects")} == git_objects(history, "main")


def test_thin_pack_without_its_bases_is_refused(store, tmp_path, history):
    thin = pack_of(history, "main", "^main~20", thin=True)
    with pytest.raises(IngestError, match="missing delta base"):
        push(store, tmp_path, thin, {"refs/heads/main": (None, refs_of(history)["refs/heads/main"])})
    assert store.stats()["objects"] == 0


def _pack(objects):
    """A pack of whole (undeltified) objects [(type, data)] with a correct checksum."""
    body = b"PACK" + struct.pack(">II", 2, len(objects))
    for type_num, data in objects:
        body += encode_entry_header(type_num, len(data)) + zlib.compress(data)
    return body + hashlib.sha1(body).digest()


def _oid(type_num, data):
    return hashlib.sha1(object_header(type_num, len(data)) + data).digest()


def _tree(*entries):
    return b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in entries)


def test_a_valid_handmade_pack_is_accepted(store, tmp_path):
    blob = b"hello\n"
    tree = _tree((b"100644", b"a.txt", _oid(OBJ_BLOB, blob)))
    commit = (b"tree " + _oid(OBJ_TREE, tree).hex().encode() + b"\nauthor A <a@x> 1700000000 +0100\n"
              b"committer A <a@x> 1700000000 +0100\n\nfirst\n")
    outcome = push(store, tmp_path, _pack([(OBJ_BLOB, blob), (OBJ_TREE, tree), (OBJ_COMMIT, commit)]),
                   {"refs/heads/main": (None, _oid(OBJ_COMMIT, commit))})
    assert [u.error for u in outcome.updates] == [None]
    assert store.stats()["commits"] == 1


@pytest.mark.parametrize("tree", [
    _tree((b"100645", b"a", b"\1" * 20)),                              # bad mode
    _tree((b"100644", b"b", b"\1" * 20), (b"100644", b"a", b"\1" * 20)),  # not sorted
    _tree((b"100644", b"a", b"\1" * 20), (b"100644", b"a", b"\1" * 20)),  # duplicate
    _tree((b"100644", b"..", b"\1" * 20)),                             # '..'
    _tree((b"100644", b".GIT", b"\1" * 20)),                           # '.git', any case
    _tree((b"100644", b"a/b", b"\1" * 20)),                            # '/' in a name
    _tree((b"100644", b"a", b"\1" * 20))[:-3],                         # truncated
], ids=["mode", "order", "duplicate", "dotdot", "dotgit", "slash", "truncated"])
def test_malformed_trees_are_refused(store, tmp_path, tree):
    with pytest.raises(IngestError, match="invalid tree"):
        push(store, tmp_path, _pack([(OBJ_TREE, tree)]), {})
    assert store.stats() == {"packs": 0, "objects": 0, "refs": 0, "commits": 0, "pack_bytes": 0}


_TREE_LINE = b"tree " + b"4b825dc642cb6eb9a060e54bf8d69288fbee4904" + b"\n"
_WHO = b"A U Thor <a@example.org> 1700000000 +0100\n"


@pytest.mark.parametrize("commit", [
    b"tree not-hex\nauthor " + _WHO + b"committer " + _WHO + b"\nx\n",
    _TREE_LINE + b"committer " + _WHO + b"\nx\n",                                  # no author
    _TREE_LINE + b"parent 123\nauthor " + _WHO + b"committer " + _WHO + b"\nx\n",  # bad parent
    _TREE_LINE + b"author A <a@x> 1700000000 +100\ncommitter " + _WHO + b"\nx\n",  # bad zone
    _TREE_LINE + b"author A <a@x> 01700000000 +0100\ncommitter " + _WHO + b"\nx\n",  # zero-padded date
    _TREE_LINE + b"author <a@x> 1700000000 +0100\ncommitter " + _WHO + b"\nx\n",   # no name before email
    _TREE_LINE + b"author A <a@x> 1700000000 +0100\ncommitter " + _WHO + b"encoding x\0y\n\nx\n",  # NUL
], ids=["tree-hex", "no-author", "parent-hex", "zone", "zero-padded", "no-name", "nul"])
def test_malformed_commits_are_refused(store, tmp_path, commit):
    with pytest.raises(IngestError, match="invalid commit"):
        push(store, tmp_path, _pack([(OBJ_COMMIT, commit)]), {})
    assert store.stats()["objects"] == 0


def test_commit_with_extra_headers_and_odd_names_is_indexed_as_git_has_it(store, tmp_path):
    tree = b""
    commit = (b"tree " + _oid(OBJ_TREE, tree).hex().encode() + b"\nauthor  <nobody@x> 0 -0130\n"
              b"committer C O Mitter <c@x> 1700000001 +0545\nencoding ISO-8859-1\n"
              b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nsubject\n\nbody\n")
    oid = _oid(OBJ_COMMIT, commit)
    outcome = push(store, tmp_path, _pack([(OBJ_TREE, tree), (OBJ_COMMIT, commit)]), {"refs/heads/main": (None, oid)})
    assert [u.error for u in outcome.updates] == [None]
    row = store.con.execute("SELECT author_name, author_time, author_tz, committer_name, committer_tz, message"
                            " FROM commits WHERE oid=?", (oid,)).fetchone()
    assert row == ("", 0, -90, "C O Mitter", 345, "subject\n\nbody\n")


def test_bad_checksum_truncation_and_corrupt_data_are_refused(store, tmp_path, history):
    good = pack_of(history, "main~100")
    with pytest.raises(IngestError, match="checksum"):
        push(store, tmp_path, good[:-1] + bytes([good[-1] ^ 1]), {})
    with pytest.raises(IngestError):
        push(store, tmp_path, good[: len(good) // 2], {})
    body = bytearray(good[:-20])
    body[len(body) // 2] ^= 0xFF
    with pytest.raises(IngestError):
        push(store, tmp_path, bytes(body) + hashlib.sha1(body).digest(), {})
    assert store.stats()["objects"] == 0



def test_delta_that_does_not_fit_its_base_is_refused(store, tmp_path):
    from dulwich.pack import create_delta

    base, target = b"line\n" * 50, b"line\n" * 49 + b"changed\n"
    delta = b"".join(create_delta(base + b"x", target))  # made for a base one byte longer
    body = b"PACK" + struct.pack(">II", 2, 2)
    body += encode_entry_header(OBJ_BLOB, len(base)) + zlib.compress(base)
    body += encode_entry_header(7, len(delta)) + _oid(OBJ_BLOB, base) + zlib.compress(delta)
    with pytest.raises(IngestError, match="corrupt delta"):
        push(store, tmp_path, body + hashlib.sha1(body).digest(), {})
    assert store.stats()["objects"] == 0
