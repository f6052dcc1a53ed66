"""Checking a received pack before anything is stored: every object inflated once, hashed, and
checked as `git fsck` would; what the objects point at is collected for the connectivity check."""
import contextlib
import gc
import hashlib
import os
import threading
from binascii import unhexlify
from dataclasses import dataclass, field

from dulwich.errors import ObjectFormatException
from dulwich.objects import ShaFile

from .commit_index import BadCommit, parse_commit
from .indexer import index_pack
from .objects import MissingObject
from .packformat import OBJ_COMMIT, OBJ_TAG, OBJ_TREE, PackFormatError, parse_pack_header
from .trees import check_tree

TREES_KEPT = 100000  # parsed trees handed on to the commit index; beyond that they are re-read


_gc_lock = threading.Lock()
_gc_pausers = 0


@contextlib.contextmanager
def paused_gc():
    """Checking a big push allocates millions of small objects that all stay alive until it ends;
    the cyclic GC would rescan them again and again (a tenth of the time) for no garbage, since
    nothing here makes reference cycles. Paused for as long as any push in this process checks."""
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        if _gc_pausers == 1:
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0:
                gc.enable()


class IngestError(Exception):
    """A pack that cannot be accepted; the message is what `git push` prints after `unpack`."""


@dataclass
class CheckedPack:
    path: str
    size: int
    checksum: bytes
    entries: list = field(default_factory=list)   # (oid, offset, length, type, size), in pack order
    types: dict = field(default_factory=dict)     # oid -> type
    commits: dict = field(default_factory=dict)   # oid -> parse_commit record
    needed: set = field(default_factory=set)      # oids the new objects point at
    trees: dict = field(default_factory=dict)     # parsed new trees, kept for the commit index
    deltas: int = 0                               # deltas resolved
    external_bases: int = 0                       # deltas based on objects already stored (thin)


def verify_trailer(path):
    """The pack's last 20 bytes must be the SHA-1 of everything before them."""
    size = os.path.getsize(path)
    if size < 32:
        raise IngestError("truncated pack")
    h = hashlib.sha1()
    with open(path, "rb") as f:
        try:
            count = parse_pack_header(f.read(12))
        except PackFormatError as e:
            raise IngestError(str(e)) from None
        f.seek(0)
        remaining = size - 20
        while remaining:
            block = f.read(min(remaining, 1 << 20))
            if not block:
                raise IngestError("truncated pack")
            h.update(block)
            remaining -= len(block)
        trailer = f.read(20)
    if h.digest() != trailer:
        raise IngestError("pack checksum mismatch (truncated or corrupt pack)")
    return size, trailer, count


def _parsed(oid, type_num, chunks):
    try:
        obj = ShaFile.from_raw_chunks(type_num, chunks)
        obj.check()
    except (ObjectFormatException, ValueError, AssertionError, TypeError) as e:
        raise IngestError(f"invalid object {oid.hex()}: {e}") from None
    return obj


def _check_and_collect(result, oid, type_num, chunks):
    if type_num == OBJ_COMMIT:
        try:
            record = parse_commit(b"".join(chunks))
        except BadCommit as e:
            raise IngestError(f"invalid commit {oid.hex()}: {e}") from None
        result.commits[oid] = record
        result.needed.add(record["tree"])
        result.needed.update(record["parents"])
    elif type_num == OBJ_TREE:
        try:
            mapping, children = check_tree(b"".join(chunks))
        except ValueError as e:
            raise IngestError(f"invalid tree {oid.hex()}: {e}") from None
        result.needed.update(children)
        if len(result.trees) < TREES_KEPT:
            result.trees[oid] = mapping
    elif type_num == OBJ_TAG:
        obj = _parsed(oid, type_num, chunks)
        result.needed.add(unhexlify(obj.object[1]))


def check_pack(path, reader):
    """Index and check the pack at `path`; thin deltas resolve against `reader` (the store)."""
    size, checksum, count = verify_trailer(path)
    result = CheckedPack(path=path, size=size, checksum=checksum)
    if count == 0:
        return result

    def external(oid):
        try:
            return reader.get(oid)
        except MissingObject:
            return None

    def on_object(oid, offset, length, type_num, data):
        if oid in result.types:
            raise IngestError(f"pack holds object {oid.hex()} twice")
        _check_and_collect(result, oid, type_num, [data])
        result.types[oid] = type_num
        result.entries.append((oid, offset, length, type_num, len(data)))

    try:
        result.deltas, result.external_bases = index_pack(path, count, on_object, external)
    except PackFormatError as e:
        raise IngestError(str(e)) from None
    result.entries.sort(key=lambda e: e[1])
    return result
