"""Indexing a received pack as `git index-pack` does: one pass to find every entry (whole objects
are hashed right away), then delta chains resolved from their bases, each object inflated once
where memory allows. Thin packs resolve their outside bases through a callback."""
import mmap
import zlib
from collections import defaultdict

from dulwich._pack import apply_delta

from .packformat import OFS_DELTA, REF_DELTA, PackFormatError, decode_entry_header, object_id

KEEP_DELTA_BYTES = 64 << 20    # inflated deltas kept from the first pass
KEEP_BASE_BYTES = 32 << 20     # whole objects kept from the first pass as delta bases


def read_entry_py(buf, offset, limit):
    """The entry at `offset` (not reading at or past `limit`) -> (type, size, base, data, end):
    base is the OFS_DELTA distance, the REF_DELTA base oid, or None; `end` is just past the entry.
    The reference for _speedups.read_entry. Raises ValueError."""
    type_num, size, base, start = decode_entry_header(buf[offset:min(limit, offset + 32)], 0)
    start += offset
    d = zlib.decompressobj()
    window = size + 64
    try:
        out = d.decompress(buf[start:min(start + window, limit)])
        while not d.eof and start + window < limit:
            out += d.decompress(buf[start + window:min(start + 2 * window, limit)])
            window *= 2
    except zlib.error:
        raise ValueError(f"corrupt compressed data at {start}") from None
    if not d.eof:
        if len(out) > size:
            raise ValueError(f"entry at {offset} inflates to more than its header says")
        raise ValueError("truncated pack")
    if len(out) != size:
        if len(out) > size:
            raise ValueError(f"entry at {offset} inflates to more than its header says")
        raise ValueError(f"entry at {start} inflates to {len(out)} bytes, header says {size}")
    return type_num, size, base, out, min(start + window, limit) - len(d.unused_data)


try:
    from ._speedups import read_entry  # the same, in C (see build_native.py)
except ImportError:
    read_entry = read_entry_py


def _entry(buf, offset, limit):
    try:
        return read_entry(buf, offset, limit)
    except ValueError as e:
        raise PackFormatError(str(e)) from None
    except MemoryError:
        # The C reader allocates the size an entry declares before inflating it: a header claiming
        # more than this machine holds is a corrupt (or hostile) pack, not a server error.
        raise PackFormatError(f"entry at {offset} declares a size too large to inflate") from None


def index_pack(path, count, on_object, resolve_external):
    """Call on_object(oid, offset, length, type_num, data) for every object of the pack at `path`
    (`count` entries, trailer already verified). resolve_external(oid) -> (type, data) or None.
    Returns (deltas resolved, bases found outside the pack)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        end_of_entries = len(buf) - 20
        entries = {}                 # offset -> (pack type, end, base)
        ofs_children = defaultdict(list)
        ref_children = defaultdict(list)
        deltas = {}                  # offset -> inflated delta kept from pass 1
        bases = {}                   # offset -> (type, data) kept from pass 1
        kept_delta = kept_base = 0
        resolved = {}                # offset -> oid (all objects)
        pos = 12
        for _ in range(count):
            if pos >= end_of_entries:
                raise PackFormatError("pack has fewer entries than its header says")
            type_num, size, base, data, end = _entry(buf, pos, end_of_entries)
            if type_num < OFS_DELTA:
                oid = object_id(type_num, data)
                resolved[pos] = oid
                on_object(oid, pos, end - pos, type_num, data)
                if kept_base + len(data) <= KEEP_BASE_BYTES:
                    bases[pos] = (type_num, data)
                    kept_base += len(data)
            else:
                if type_num == OFS_DELTA:
                    base = pos - base
                    if base < 12 or base not in entries:
                        raise PackFormatError(f"delta at {pos} has a base offset that is no entry")
                    ofs_children[base].append(pos)
                else:
                    ref_children[base].append(pos)
                if kept_delta + len(data) <= KEEP_DELTA_BYTES:
                    deltas[pos] = data
                    kept_delta += len(data)
            entries[pos] = (type_num, end, base)
            pos = end
        if pos != end_of_entries:
            raise PackFormatError("pack has more data than its header says")

        def delta_at(offset):
            data = deltas.pop(offset, None)
            if data is None:
                data = _entry(buf, offset, end_of_entries)[3]
            return data

        def base_at(offset):
            kept = bases.pop(offset, None)
            if kept is not None:
                return kept
            type_num, _size, _base, data, _end = _entry(buf, offset, end_of_entries)
            return type_num, data

        def resolve_children(type_num, data, offset, oid):
            stack = [(type_num, data, offset, oid)]
            while stack:
                type_num, data, offset, oid = stack.pop()
                children = ofs_children.pop(offset, []) if offset is not None else []
                children += ref_children.pop(oid, [])
                for child in children:
                    try:
                        # apply_delta checks both sizes the delta declares against base and result.
                        target = b"".join(apply_delta(data, delta_at(child)))
                    except Exception as e:  # dulwich raises ApplyDeltaError, or ValueError/IndexError
                        raise PackFormatError(f"corrupt delta at {child}: {e}") from None
                    child_oid = object_id(type_num, target)
                    resolved[child] = child_oid
                    on_object(child_oid, child, entries[child][1] - child, type_num, target)
                    stack.append((type_num, target, child, child_oid))

        for offset, (type_num, _end, _base) in entries.items():
            if type_num < OFS_DELTA and (offset in ofs_children or resolved[offset] in ref_children):
                base_type, data = base_at(offset)
                resolve_children(base_type, data, offset, resolved[offset])
        externals = 0
        for base_oid in list(ref_children):
            if base_oid not in ref_children:
                continue
            external = resolve_external(base_oid)
            if external is None:
                continue
            externals += 1
            resolve_children(external[0], external[1], None, base_oid)
        unresolved = [o for o in entries if o not in resolved]
        if unresolved:
            missing = sorted({entries[o][2].hex() for o in unresolved if entries[o][0] == REF_DELTA})
            raise PackFormatError(
                "missing delta base objects: " + ", ".join(missing[:5]) if missing else "unresolvable deltas"
            )
        return sum(1 for t, _e, _b in entries.values() if t >= OFS_DELTA), externals
