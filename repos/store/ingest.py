"""Checking a received pack before anything is stored: every object inflated once, hashed, and
checked as `git fsck` would; what the objects point at is collected for the connectivity check,
and the commit index rows of the new commits are prepared."""
import hashlib
import os
from binascii import unhexlify
from dataclasses import dataclass, field

from dulwich.errors import ObjectFormatException
from dulwich.objects import ShaFile

from .indexer import index_pack
from .objectcheck import IngestError, TreeCommitChecker, paused_gc, return_memory_to_os
from .objects import MissingObject
from .packformat import OBJ_BLOB, OBJ_TAG, PackFormatError, parse_pack_header

@dataclass
class CheckedPack:
    path: str
    size: int
    checksum: bytes
    entries: list = field(default_factory=list)   # (oid, offset, length, type, size), in pack order
    types: dict = field(default_factory=dict)     # oid -> type
    needed: set = field(default_factory=set)      # oids the new objects point at
    commits: dict = field(default_factory=dict)   # oid -> parse_commit record
    trees: dict = field(default_factory=dict)     # oid -> parsed tree (up to TREES_KEPT of them)
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


def check_pack(path, reader):
    """Index and check the pack at `path`; thin deltas resolve against `reader` (the store)."""
    size, checksum, count = verify_trailer(path)
    result = CheckedPack(path=path, size=size, checksum=checksum)
    if count == 0:
        return result
    checker = TreeCommitChecker()

    def external(oid):
        try:
            return reader.get(oid)
        except MissingObject:
            return None

    def on_object(oid, offset, length, type_num, data):
        if oid in result.types:
            raise IngestError(f"pack holds object {oid.hex()} twice")
        if type_num == OBJ_TAG:
            result.needed.add(unhexlify(_parsed(oid, type_num, [data]).object[1]))
        elif type_num != OBJ_BLOB:
            checker.add(type_num, oid, data)
        result.types[oid] = type_num
        result.entries.append((oid, offset, length, type_num, len(data)))

    try:
        result.deltas, result.external_bases = index_pack(path, count, on_object, external)
    except PackFormatError as e:
        raise IngestError(str(e)) from None
    result.entries.sort(key=lambda e: e[1])
    result.needed |= checker.needed
    result.commits, result.trees = checker.commits, checker.trees
    return result


__all__ = ["CheckedPack", "IngestError", "check_pack", "paused_gc", "return_memory_to_os"]
