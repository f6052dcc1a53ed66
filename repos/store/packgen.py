"""Writing packs for fetches by copying stored entries: compressed bytes are never recompressed,
only entry headers are rewritten (a delta's base distance changes with its new position).

A full clone of a clean store (every stored object reachable, none twice) is the stored packs laid
end to end: OFS_DELTA distances inside each pack stay valid, REF_DELTA bases are in the output.
"""
import hashlib
import zlib

from .db import CHUNK_SIZE, chunk_rowid
from .packformat import (
    OFS_DELTA, REF_DELTA, decode_entry_header, encode_entry_header, encode_ofs, pack_header,
)

FLUSH_AT = 256 << 10


def can_stream_whole(store):
    return store.meta("clean") == "1"


def whole_object_count(store):
    return store.con.execute("SELECT coalesce(sum(object_count), 0) FROM packs").fetchone()[0]


def stream_whole(store, progress=None):
    """Every stored pack body concatenated under one header: the full clone of a clean store."""
    packs = store.con.execute("SELECT id, size, object_count FROM packs ORDER BY id").fetchall()
    total = sum(p[2] for p in packs)
    if progress:
        progress(f"Enumerating objects: {total}, done.\n")
    h = hashlib.sha1()
    head = pack_header(total)
    h.update(head)
    yield head
    for pack_id, size, _count in packs:
        start, end = 12, size - 20
        seq = start // CHUNK_SIZE
        while seq * CHUNK_SIZE < end:
            row = store.con.execute(
                "SELECT data FROM pack_chunks WHERE id=?", (chunk_rowid(pack_id, seq),)
            ).fetchone()
            data = row[0]
            lo = max(start - seq * CHUNK_SIZE, 0)
            hi = min(end - seq * CHUNK_SIZE, len(data))
            piece = data[lo:hi] if lo or hi != len(data) else data
            h.update(piece)
            yield piece
            seq += 1
    if progress:
        progress(f"Total {total} (reused {total}), pack-reused {total}\n")
    yield h.digest()


def write_pack(store, objects, *, ofs_delta=True, thin=False, progress=None):
    """Yield a pack holding exactly `objects` (an ObjectSet) from the stored entries."""
    reader = store.reader
    located = []
    for oid in objects.oids:
        found = reader.locate(oid)
        if found is None:
            raise KeyError(f"object {oid.hex()} missing from store")
        pack, offset, length, type_num, _size = found
        located.append((pack.id, offset, length, oid, pack, type_num))
    located.sort(key=lambda e: (e[0], e[1]))
    total = len(located)
    if progress:
        progress(f"Enumerating objects: {total}, done.\n")

    sending = objects.seen
    client_has = objects.client_has if thin else ()
    out_at_position = {}   # (pack id, offset) -> offset in this pack
    out_at_oid = {}        # oid -> offset in this pack
    h = hashlib.sha1()
    buf = bytearray(pack_header(total))
    written = 0
    reused = 0
    for pack_id, offset, length, oid, pack, obj_type in located:
        raw = pack.read(offset, length)
        type_num, size, base, data_start = decode_entry_header(raw)
        here = written + len(buf)
        entry = None
        if type_num < OFS_DELTA:
            entry = raw
        else:
            base_oid = base if type_num == REF_DELTA else None
            base_out = None
            if type_num == OFS_DELTA:
                base_out = out_at_position.get((pack_id, offset - base))
                if base_out is None or not ofs_delta:
                    base_oid = reader.oid_at(pack, offset - base)
            if base_out is None and base_oid is not None:
                base_out = out_at_oid.get(base_oid)
            if base_out is not None and ofs_delta:
                entry = encode_entry_header(OFS_DELTA, size) + encode_ofs(here - base_out) + raw[data_start:]
            elif base_oid is not None and (base_oid in sending or base_oid in client_has):
                entry = encode_entry_header(REF_DELTA, size) + base_oid + raw[data_start:]
        if entry is None:
            # The delta's base is not going to the client: send the object whole.
            _, data = reader.get(oid)
            entry = encode_entry_header(obj_type, len(data)) + zlib.compress(data, 6)
        else:
            reused += 1
        out_at_position[(pack_id, offset)] = here
        out_at_oid[oid] = here
        buf += entry
        if len(buf) >= FLUSH_AT:
            chunk = bytes(buf)
            h.update(chunk)
            written += len(chunk)
            buf.clear()
            yield chunk
    if buf:
        chunk = bytes(buf)
        h.update(chunk)
        yield chunk
    if progress:
        progress(f"Total {total} (reused {reused})\n")
    yield h.digest()
