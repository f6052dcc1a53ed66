"""Forge writing history itself (merges, squashes, rebases; later the API's commits): new objects
and the ref move land exactly as a push does — one pack, checked like any received pack, and the
ref moved by compare-and-swap in the same SQLite transaction as the objects and the commit index.
A ref that moved since the caller read it makes the whole write fail and leaves nothing behind, so
a push racing a merge can never be lost, and the merge can be retried on the new state. No Django.
"""
import contextlib
import errno
import hashlib
import os
import sqlite3
import tempfile
import zlib
from dataclasses import dataclass

from .packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, ZERO_OID, encode_entry_header, object_id, pack_header
from .push import RefUpdate


class WriteRefused(Exception):
    """The ref was not moved (and nothing was written); the message says why."""


class RefMoved(WriteRefused):
    """The ref no longer points where the caller read it: someone pushed in between."""


class StoreUnavailable(WriteRefused):
    """The store could not be written just now (its write lock held past the busy timeout by
    another write, or the disk full): the transaction was rolled back, nothing was written, and
    the same write may succeed later. A refusal with a reason, not a server error."""


def storage_trouble(error) -> str:
    """What a storage error (sqlite3 or OS) means for the one writing, in a few words."""
    text = str(error).lower()
    if isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return "the repository is busy (another write held it too long), try again"
    if "full" in text or getattr(error, "errno", None) == errno.ENOSPC:
        return "the server's disk is full"
    return "server storage error"


@dataclass(frozen=True)
class Signature:
    """A commit's author or committer."""

    name: str
    email: str
    time: int          # seconds since the epoch
    tz_minutes: int = 0  # east of UTC

    def encode(self) -> bytes:
        sign = "+" if self.tz_minutes >= 0 else "-"
        offset = abs(self.tz_minutes)
        # git refuses angle brackets and newlines inside the name and address.
        name = _clean(self.name)
        email = _clean(self.email)
        return f"{name} <{email}> {self.time} {sign}{offset // 60:02d}{offset % 60:02d}".encode()


def _clean(text: str) -> str:
    return " ".join(text.replace("<", "").replace(">", "").split())


def commit_object(tree: bytes, parents, author: Signature, committer: Signature, message: str) -> bytes:
    """The raw bytes of a commit object, as `git commit-tree` writes them."""
    lines = [b"tree " + tree.hex().encode()]
    lines += [b"parent " + parent.hex().encode() for parent in parents]
    lines.append(b"author " + author.encode())
    lines.append(b"committer " + committer.encode())
    text = message if message.endswith("\n") else message + "\n"
    return b"\n".join(lines) + b"\n\n" + text.encode("utf-8")


def tree_object(entries) -> bytes:
    """The raw bytes of a tree from (mode int, name bytes, oid) entries, in git's order (a
    directory sorts as if its name ended with '/')."""
    def key(entry):
        mode, name, _ = entry
        return name + b"/" if mode == 0o040000 else name

    return b"".join(b"%o %s\0%s" % (mode, name, oid) for mode, name, oid in sorted(entries, key=key))


def objects_with_ids(*typed_raw):
    """{oid: (type, raw)} for (type, raw) pairs."""
    return {object_id(type_num, raw): (type_num, raw) for type_num, raw in typed_raw}


def write_pack_file(objects, path) -> None:
    """A pack holding `objects` ({oid: (type, raw)}), every entry whole (no deltas)."""
    h = hashlib.sha1()
    with open(path, "wb") as out:
        def put(data):
            h.update(data)
            out.write(data)

        put(pack_header(len(objects)))
        for type_num, raw in objects.values():
            put(encode_entry_header(type_num, len(raw)))
            put(zlib.compress(raw, 1))
        out.write(h.digest())


def write_and_move_ref(store, objects, ref: str, old: bytes | None, new: bytes, tmp_dir: str | None = None):
    """Store `objects` ({oid: (type, raw)}; those the store already has are skipped) and move `ref`
    from `old` (None or ZERO_OID: it must not exist) to `new`, all in one transaction.
    Returns the PushOutcome. Raises RefMoved if `ref` is not at `old` any more, WriteRefused for any
    other refusal (a missing object, a non-commit on a branch), StoreUnavailable (a WriteRefused) when
    the store cannot be written now (busy past its timeout, disk full); then nothing at all was written."""
    for oid, (type_num, raw) in objects.items():
        if type_num not in (OBJ_BLOB, OBJ_TREE, OBJ_COMMIT) or object_id(type_num, raw) != oid:
            raise ValueError(f"object {oid.hex()} does not match its bytes")
    fresh = {oid: value for oid, value in objects.items() if not store.has(oid)}
    update = RefUpdate(name=ref, old=old or ZERO_OID, new=new)
    try:
        outcome = _land(store, fresh, update, tmp_dir)
    except (sqlite3.OperationalError, OSError) as error:
        raise StoreUnavailable(f"{storage_trouble(error)}; nothing was changed") from error
    if update.error:
        current = store.ref(ref)
        if (current or ZERO_OID) != update.old:
            raise RefMoved(f"{ref} moved while this was being written; nothing was changed")
        raise WriteRefused(update.error)
    return outcome


def _land(store, fresh, update, tmp_dir):
    checked = None
    path = None
    try:
        if fresh:
            # The pid in the name lets the next push remove it if this process is killed meanwhile
            # (repos.git.receive_pack.sweep_stale_spools).
            descriptor, path = tempfile.mkstemp(prefix=f"forge-write-{os.getpid()}-", suffix=".pack", dir=tmp_dir)
            os.close(descriptor)
            write_pack_file(fresh, path)
            checked = store.check_pack(path)
        return store.land_push(checked, [update], atomic=True)
    finally:
        if path:
            with contextlib.suppress(FileNotFoundError):  # never turn a landed write into a failure
                os.unlink(path)


__all__ = ["Signature", "WriteRefused", "RefMoved", "StoreUnavailable", "storage_trouble", "commit_object",
           "tree_object", "objects_with_ids", "write_pack_file", "write_and_move_ref"]
