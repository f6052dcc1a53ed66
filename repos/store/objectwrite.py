"""Storing objects that no ref points at yet: the git-data API's created blobs, trees, commits and
tags (a client makes a blob, then a tree, then a commit, and only then moves a ref).

They land as a push's objects do — one pack, checked like any received pack (hashes, `git fsck`'s
rules), everything they point at present, the commit index filled for new commits — in one SQLite
transaction, or not at all. The store is marked unclean afterwards (it now holds objects no ref
reaches). Every object given is marked with the time (table unreferenced_objects, made on first
use: stores made before it lack it), also one the store had already, as git freshens an object's
mtime when it is written again; repack keeps marked objects nothing reaches for a grace period
(repack.UNREACHABLE_GRACE_SECONDS), as git keeps unreachable objects until gc.pruneExpire. No Django.
"""
import os
import tempfile
import time
from dataclasses import dataclass

from .commit_index import commit_index_rows, insert_commit_index
from .objectcheck import IngestError
from .packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TAG, OBJ_TREE, object_id
from .push import store_pack
from .trees import MODE_GITLINK, MODE_TREE, is_tree, tree_mapping
from .write import tree_object, write_pack_file

STORABLE_TYPES = (OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG)
MARKS_TABLE = ("CREATE TABLE IF NOT EXISTS unreferenced_objects"
               " (oid BLOB PRIMARY KEY, written_at INTEGER NOT NULL) WITHOUT ROWID")


def has_marks(con) -> bool:
    """Whether the store has the marks table (a store no object was ever stored in has not)."""
    return con.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='unreferenced_objects'").fetchone() is not None


def _mark(con, oids) -> None:
    """Inside the caller's transaction: `oids` were written now (the grace starts again)."""
    con.execute(MARKS_TABLE)
    now = int(time.time())
    con.executemany("INSERT INTO unreferenced_objects (oid, written_at) VALUES (?, ?)"
                    " ON CONFLICT(oid) DO UPDATE SET written_at=excluded.written_at", ((oid, now) for oid in oids))


class ObjectsRefused(Exception):
    """The objects were not stored (nothing was written); the message says why."""


class MissingObjects(ObjectsRefused):
    """An object points at one that is neither stored nor among those given."""

    def __init__(self, missing):
        self.missing = sorted(missing)
        super().__init__(f"missing necessary objects ({self.missing[0].hex()})")


@dataclass(frozen=True)
class StoredObjects:
    stored: int          # objects newly written
    already_present: int  # objects the store had already (skipped)
    pack_id: int | None  # the new pack, None when nothing was new


def store_objects(store, objects, tmp_dir=None) -> StoredObjects:
    """Store `objects` ({oid: (type, raw bytes)}) without moving any ref. Objects the store has
    already are skipped. Raises ValueError if an oid does not match its bytes, ObjectsRefused
    (IngestError's message) for an object `git fsck` would refuse, MissingObjects when something
    they point at is absent; then nothing was written."""
    for oid, (type_num, raw) in objects.items():
        if type_num not in STORABLE_TYPES or object_id(type_num, raw) != oid:
            raise ValueError(f"object {oid.hex()} does not match its bytes")
    fresh = {oid: value for oid, value in objects.items() if not store.has(oid)}
    if not fresh:
        _land(store, None, objects)   # only the marks: the objects' grace starts again
        return StoredObjects(0, len(objects), None)
    descriptor, path = tempfile.mkstemp(prefix="forge-objects-", suffix=".pack", dir=tmp_dir)
    os.close(descriptor)
    try:
        write_pack_file(fresh, path)
        try:
            checked = store.check_pack(path)
        except IngestError as error:
            raise ObjectsRefused(str(error)) from None
        pack_id = _land(store, checked, objects)
    finally:
        os.unlink(path)
    return StoredObjects(len(fresh), len(objects) - len(fresh), pack_id)


def _land(store, checked, objects) -> int | None:
    con, reader = store.con, store.reader
    # As land_push: open blob handles pin an old snapshot that cannot take the write lock.
    reader.close()
    con.execute("BEGIN IMMEDIATE")
    try:
        new = checked.types if checked is not None else {}
        if any(con.execute("SELECT 1 FROM objects WHERE oid=?", (oid,)).fetchone() is None
               for oid in objects if oid not in new):
            raise ObjectsRefused("an object went while it was being written (a repack); try again")
        if checked is None:
            _mark(con, objects)
            con.execute("COMMIT")
            return None
        outside = checked.needed - set(checked.types)
        missing = [oid for oid in outside
                   if con.execute("SELECT 1 FROM objects WHERE oid=?", (oid,)).fetchone() is None]
        if missing:
            raise MissingObjects(missing)
        pack_id = store_pack(con, checked)
        new_commits = {oid: record for oid, record in checked.commits.items()
                       if con.execute("SELECT 1 FROM commits WHERE oid=?", (oid,)).fetchone() is None}
        if new_commits:
            # Indexed now: a later ref move finds them stored and lands no pack (so no indexing).
            insert_commit_index(con, *commit_index_rows(con, reader, new_commits, checked.trees))
        _mark(con, objects)
        # Nothing reaches these objects yet: a full clone may not stream the packs as they are.
        con.execute("UPDATE meta SET value='0' WHERE key='clean'")
        con.execute("COMMIT")
        return pack_id
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise


# --- building trees from edits (GitHub's POST /git/trees) ------------------------------------------------

@dataclass(frozen=True)
class TreeEdit:
    """Put (mode, oid) at `path` ('/'-separated, made of its directories as needed), or remove
    what is there when `oid` is None."""
    path: bytes
    mode: int = 0
    oid: bytes | None = None


class TreeEditError(ValueError):
    """An edit that cannot apply (a bad path, a base that is not a tree)."""


class _Dir:
    """One directory of the tree being built: its base entries and the subdirectories edited."""

    def __init__(self, store, oid):
        self.entries = dict(tree_mapping(store.get(oid)[1])) if oid else {}
        self.children = {}
        self.store = store

    def child(self, name, create):
        if name in self.children:
            return self.children[name]
        mode, oid = self.entries.get(name, (None, None))
        if mode is not None and is_tree(mode):
            found = _Dir(self.store, oid)
        elif create:
            found = _Dir(self.store, None)   # a file of that name gives way to the directory
        else:
            return None
        self.children[name] = found
        self.entries.pop(name, None)
        return found

    def apply(self, parts, edit):
        name, rest = parts[0], parts[1:]
        if rest:
            below = self.child(name, create=edit.oid is not None)
            if below is not None:
                below.apply(rest, edit)
            return
        self.children.pop(name, None)
        if edit.oid is None:
            self.entries.pop(name, None)
        else:
            self.entries[name] = (edit.mode, edit.oid)

    def write(self, objects, keep_empty=False):
        for name, below in self.children.items():
            oid = below.write(objects)
            if oid is not None:
                self.entries[name] = (MODE_TREE, oid)
        self.children = {}
        if not self.entries and not keep_empty:
            return None   # a directory emptied by the edits goes, as in git
        raw = tree_object([(mode, name, oid) for name, (mode, oid) in self.entries.items()])
        oid = object_id(OBJ_TREE, raw)
        objects[oid] = (OBJ_TREE, raw)
        return oid


def split_tree_path(path: bytes) -> list:
    parts = path.split(b"/")
    for part in parts:
        if part in (b"", b".", b"..") or b"\0" in part or part.lower() == b".git":
            raise TreeEditError(f"invalid path {path.decode('utf-8', 'replace')!r}")
    return parts


def build_tree(store, base_tree: bytes | None, edits) -> tuple:
    """GitHub's tree creation: `base_tree` (an oid, or None for an empty start) with `edits`
    (TreeEdit list, applied in order) -> (root tree oid, {oid: (OBJ_TREE, raw)} of the trees made).
    Nothing is stored. Raises TreeEditError."""
    if base_tree is not None:
        info = store.reader.info(base_tree)
        if info is None or info[0] != OBJ_TREE:
            raise TreeEditError("base_tree is not a tree")
    root = _Dir(store, base_tree)
    for edit in edits:
        if edit.oid is not None and edit.mode not in (0o100644, 0o100755, 0o120000, MODE_TREE, MODE_GITLINK):
            raise TreeEditError(f"invalid mode {edit.mode:o}")
        root.apply(split_tree_path(edit.path), edit)
    objects = {}
    return root.write(objects, keep_empty=True), objects


__all__ = [
    "MissingObjects",
    "ObjectsRefused",
    "StoredObjects",
    "TreeEdit",
    "TreeEditError",
    "build_tree",
    "has_marks",
    "split_tree_path",
    "store_objects",
]
