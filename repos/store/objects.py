"""Reading objects out of stored packs: seek to one entry, inflate just it, resolve its delta chain."""
from collections import OrderedDict

from dulwich._pack import apply_delta

from .db import CHUNK_SIZE, chunk_rowid
from .indexer import read_entry as entry_at
from .packformat import OBJ_TAG, OFS_DELTA, PackFormatError, decode_entry_header, object_id

HEADER_PEEK = 32


class MissingObject(KeyError):
    pass


class StoredPack:
    """A pack's bytes inside the repository file, addressed by pack offset."""

    def __init__(self, con, pack_id, size):
        self.con = con
        self.id = pack_id
        self.size = size
        self._blobs = {}

    def _blob(self, seq):
        blob = self._blobs.get(seq)
        if blob is None:
            if len(self._blobs) > 64:
                self.close()
            blob = self.con.blobopen("pack_chunks", "data", chunk_rowid(self.id, seq), readonly=True)
            self._blobs[seq] = blob
        return blob

    def read(self, offset, n):
        n = max(0, min(n, self.size - offset))
        parts = []
        while n > 0:
            seq, within = divmod(offset, CHUNK_SIZE)
            take = min(n, CHUNK_SIZE - within)
            parts.append(self._blob(seq)[within:within + take])
            offset += take
            n -= take
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self):
        for blob in self._blobs.values():
            blob.close()
        self._blobs.clear()


def read_entry(pack, offset, length=None):
    """-> (pack_type, size, base, inflated payload) of the entry at `offset`. Without its length
    (a delta base found by offset), a window of the pack grows until the entry fits in it."""
    if length is not None:
        raw = pack.read(offset, length)
        try:
            type_num, size, base, data, _end = entry_at(raw, 0, len(raw))
        except ValueError as e:
            raise PackFormatError(f"corrupt entry at {offset}: {e}") from None
        return type_num, size, base, data
    head = pack.read(offset, HEADER_PEEK)
    _type, size, _base, data_start = decode_entry_header(head)
    # zlib never grows data by more than a few bytes per 16 KiB block: one read nearly always does.
    window = data_start + size + size // 1000 + 64
    while True:
        raw = pack.read(offset, window)
        try:
            type_num, size, base, data, _end = entry_at(raw, 0, len(raw))
            return type_num, size, base, data
        except ValueError as e:
            if "truncated" not in str(e) or len(raw) < window:
                raise PackFormatError(f"corrupt entry at {offset}: {e}") from None
            window *= 4


class ByteLRU:
    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.used = 0
        self.items = OrderedDict()

    def get(self, key):
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key, value, size):
        if size > self.max_bytes // 8 or key in self.items:
            return
        self.items[key] = (value, size)
        self.used += size
        while self.used > self.max_bytes:
            _, (_, old) = self.items.popitem(last=False)
            self.used -= old


class ObjectReader:
    """Objects by id across every stored pack."""

    def __init__(self, con, cache_bytes=64 << 20):
        self.con = con
        self._packs = {}
        self._cache = ByteLRU(cache_bytes)
        self._oids_at = {}

    def pack(self, pack_id):
        pack = self._packs.get(pack_id)
        if pack is None:
            row = self.con.execute("SELECT size FROM packs WHERE id=?", (pack_id,)).fetchone()
            if row is None:
                raise MissingObject(f"pack {pack_id}")
            pack = self._packs[pack_id] = StoredPack(self.con, pack_id, row[0])
        return pack

    def close(self):
        self.release()
        self._packs.clear()

    def release(self):
        """Close the open blob handles. Each one is an unfinished read that pins the connection to
        the database as it was when the handle was opened: a store kept open between requests must
        let go of them, or it would never see a later push (and the WAL could not be checkpointed
        past that read). Decoded objects stay cached; handles reopen on demand."""
        for pack in self._packs.values():
            pack.close()

    def locate(self, oid):
        """-> (pack, offset, length, type, size) or None."""
        row = self.con.execute(
            "SELECT pack_id, offset, length, type, size FROM objects WHERE oid=?", (oid,)
        ).fetchone()
        if row is None:
            return None
        return (self.pack(row[0]),) + tuple(row[1:])

    def has(self, oid):
        return self.locate(oid) is not None

    def info(self, oid):
        """-> (type, size) without inflating, or None."""
        found = self.locate(oid)
        return None if found is None else (found[3], found[4])

    def get(self, oid):
        """-> (type, bytes). Raises MissingObject."""
        found = self.locate(oid)
        if found is None:
            raise MissingObject(oid.hex())
        pack, offset, length, _type, _size = found
        return self.resolve(pack, offset, length)

    def resolve(self, pack, offset, length=None):
        chain = []
        while True:
            key = (pack.id, offset)
            hit = self._cache.get(key)
            if hit is not None:
                (type_num, data), _ = hit
                break
            pack_type, _size, base, payload = read_entry(pack, offset, length)
            if pack_type < OFS_DELTA:
                type_num, data = pack_type, payload
                self._cache.put(key, (type_num, data), len(data))
                break
            chain.append((key, payload))
            if pack_type == OFS_DELTA:
                offset, length = offset - base, None
                if offset < 12:
                    raise PackFormatError("delta base offset outside the pack")
            else:
                found = self.locate(base)
                if found is None:
                    raise MissingObject(base.hex())
                pack, offset, length = found[0], found[1], found[2]
            if len(chain) > 10000:
                raise PackFormatError("delta chain too long")
        for key, delta in reversed(chain):
            data = b"".join(apply_delta(data, delta))
            self._cache.put(key, (type_num, data), len(data))
        return type_num, data

    def tag_target(self, oid):
        """The object an annotated tag points at (its first header line: `object <hex>`)."""
        type_num, data = self.get(oid)
        if type_num != OBJ_TAG or not data.startswith(b"object ") or len(data) < 47:
            raise ValueError(f"{oid.hex()} is not a tag")
        return bytes.fromhex(data[7:47].decode())

    def peel(self, oid):
        """Follow annotated tags (tags of tags too) down to the object they finally name."""
        for _ in range(64):
            info = self.info(oid)
            if info is None or info[0] != OBJ_TAG:
                return oid
            oid = self.tag_target(oid)
        raise ValueError("tag chain too long")

    def oid_at(self, pack, offset):
        """The id of the object whose entry sits at `offset` in `pack`. There is no position
        index (it would cost a fifth of the store's size); the few callers can afford a hash."""
        key = (pack.id, offset)
        oid = self._oids_at.get(key)
        if oid is None:
            oid = self._oids_at[key] = object_id(*self.resolve(pack, offset))
            if len(self._oids_at) > 100000:
                self._oids_at.clear()
        return oid
