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
    rows = []
    for oid in objects.oids:
        found = store.reader.locate(oid)
        if found is None:
            raise KeyError(f"object {oid.hex()} missing from store")
        pack, offset, length, type_num, _size = found
        rows.append((pack.id, offset, length, oid, type_num))
    rows.sort(key=lambda row: (row[0], row[1]))
    client_has = objects.client_has if thin else frozenset()
    return _emit(store, rows, len(rows), objects.seen.__contains__, client_has, ofs_delta, progress)


def stream_selected(store, condition, keeps, *, ofs_delta=True, progress=None):
    """The full clone of a clean store narrowed by a filter on type and size (blob:none, tree:0,
    blob:limit): the stored objects that pass, in stored order, no history walk needed.
    `condition` is the filter in SQL, `keeps(type, size)` the same in Python."""
    total = store.con.execute(f"SELECT count(*) FROM objects WHERE {condition}").fetchone()[0]
    rows = store.con.execute(
        f"SELECT pack_id, offset, length, oid, type FROM objects WHERE {condition} ORDER BY pack_id, offset")

    def is_sent(oid):
        info = store.reader.info(oid)
        return info is not None and keeps(*info)

    return _emit(store, rows, total, is_sent, frozenset(), ofs_delta, progress)


def _emit(store, rows, total, is_sent, client_has, ofs_delta, progress):
    """Yield a pack of `total` entries copied from `rows` ((pack id, offset, length, oid, type) in
    stored order). A delta is kept as a delta when its base is sent too (or, thin, is on the
    client), and sent whole otherwise."""
    reader = store.reader
    if progress:
        progress(f"Enumerating objects: {total}, done.\n")
    out_at_position = {}   # (pack id, offset) -> offset in this pack
    out_at_oid = {}        # oid -> offset in this pack
    h = hashlib.sha1()
    buf = bytearray(pack_header(total))
    written = 0
    reused = 0
    count = 0
    for pack_id, offset, length, oid, obj_type in rows:
        pack = reader.pack(pack_id)
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
            elif base_oid is not None and (base_oid in client_has or is_sent(base_oid)):
                entry = encode_entry_header(REF_DELTA, size) + base_oid + raw[data_start:]
        if entry is None:
            # The delta's base is not going to the client: send the object whole.
            _, data = reader.get(oid)
            entry = encode_entry_header(obj_type, len(data)) + zlib.compress(data, 6)
        else:
            reused += 1
        out_at_position[(pack_id, offset)] = here
        out_at_oid[oid] = here
        count += 1
        buf += entry
        if len(buf) >= FLUSH_AT:
            chunk = bytes(buf)
            h.update(chunk)
            written += len(chunk)
            buf.clear()
            yield chunk
    if count != total:
        raise RuntimeError(f"pack promised {total} objects but {count} were found")
    if buf:
        chunk = bytes(buf)
        h.update(chunk)
        yield chunk
    if progress:
        progress(f"Total {total} (reused {reused})\n")
    yield h.digest()
