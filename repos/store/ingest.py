"""Checking a received pack before anything is stored: every object inflated once, hashed, and
checked as `git fsck` would; what the objects point at is collected for the connectivity check."""
import hashlib
import os
from binascii import unhexlify
from dataclasses import dataclass, field

from dulwich.errors import ApplyDeltaError, ObjectFormatException
from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import ShaFile
from dulwich.pack import PackData, UnpackedObjectIterator, UnresolvedDeltas

from .commit_index import commit_record
from .objects import MissingObject
from .packformat import OBJ_COMMIT, OBJ_TAG, OBJ_TREE, PackFormatError, parse_pack_header
from .trees import MODE_GITLINK, parse_tree


class IngestError(Exception):
    """A pack that cannot be accepted; the message is what `git push` prints after `unpack`."""


@dataclass
class CheckedPack:
    path: str
    size: int
    checksum: bytes
    entries: list = field(default_factory=list)   # (oid, offset, length, type, size), in pack order
    types: dict = field(default_factory=dict)     # oid -> type
    commits: dict = field(default_factory=dict)   # oid -> commit_record
    tag_targets: dict = field(default_factory=dict)  # tag oid -> target oid
    needed: set = field(default_factory=set)      # oids the new objects point at


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


def _check_and_collect(result, oid, type_num, chunks):
    try:
        obj = ShaFile.from_raw_chunks(type_num, chunks)
        if type_num != 3:
            obj.check()
    except (ObjectFormatException, ValueError, AssertionError, TypeError) as e:
        raise IngestError(f"invalid object {oid.hex()}: {e}") from None
    if type_num == OBJ_COMMIT:
        record = commit_record(obj)
        result.commits[oid] = record
        result.needed.add(record["tree"])
        result.needed.update(record["parents"])
    elif type_num == OBJ_TREE:
        raw = b"".join(chunks)
        for _name, mode, child in parse_tree(raw):
            if mode != MODE_GITLINK:
                result.needed.add(child)
    elif type_num == OBJ_TAG:
        target = unhexlify(obj.object[1])
        result.tag_targets[oid] = target
        result.needed.add(target)


def check_pack(path, reader):
    """Index and check the pack at `path`; thin deltas resolve against `reader` (the store)."""
    size, checksum, count = verify_trailer(path)
    result = CheckedPack(path=path, size=size, checksum=checksum)
    if count == 0:
        return result

    def external(oid):
        oid = oid if len(oid) == 20 else unhexlify(oid)
        try:
            return reader.get(oid)
        except MissingObject:
            raise KeyError(oid) from None

    data = PackData(path, DEFAULT_OBJECT_FORMAT)
    offsets = []
    try:
        walker = UnpackedObjectIterator.for_pack_data(data, resolve_ext_ref=external)
        for unpacked in walker:
            oid = unpacked.sha()
            type_num = unpacked.obj_type_num
            chunks = unpacked.obj_chunks
            obj_size = sum(len(c) for c in chunks) if isinstance(chunks, list) else len(chunks)
            _check_and_collect(result, oid, type_num, chunks if isinstance(chunks, list) else [chunks])
            result.types[oid] = type_num
            offsets.append((unpacked.offset, oid, type_num, obj_size))
    except UnresolvedDeltas as e:
        raise IngestError(f"missing delta base objects: {', '.join(str(s) for s in e.shas[:5])}") from None
    except (PackFormatError, ApplyDeltaError, AssertionError, ValueError, OSError) as e:
        raise IngestError(f"corrupt pack: {e or type(e).__name__}") from None
    finally:
        data.close()
    if len(offsets) != count:
        raise IngestError(f"pack header says {count} objects, found {len(offsets)}")
    offsets.sort()
    ends = [o[0] for o in offsets[1:]] + [size - 20]
    result.entries = [
        (oid, offset, end - offset, type_num, obj_size)
        for (offset, oid, type_num, obj_size), end in zip(offsets, ends)
    ]
    if len(set(e[0] for e in result.entries)) != len(result.entries):
        raise IngestError("pack holds the same object twice")
    return result
