"""Fuzzing the receive path's pack reader and object checks (repos/git/receive_pack.py ->
repos/store/ingest.py, indexer.py, packformat.py, objectcheck.py), on a store holding a real repository.

- Valid packs built here from random objects (blobs, a tree, a commit; whole entries, OFS_DELTA and
  REF_DELTA entries with copy and insert instructions, deltas on objects already in the store) are
  accepted, and every object reads back byte-identical.
- Mutated packs (bit flips, truncation, spliced headers, wrong counts, bad delta bases, duplicated
  entries, a bad or a recomputed trailer) are refused with `unpack <error>` and leave refs, objects,
  packs and commits as they were; or, when the mutation happens to leave a valid pack, every stored
  object hashes to its id. Never an exception, never a hang.
- The C speedups agree with their Python references on any input: read_entry and check_tree.
"""
import hashlib
import io
import random
import re
import shutil
import struct
import zlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from repos.git.receive_pack import serve_receive
from repos.store import RepoStore
from repos.store import indexer, trees
from repos.store.packformat import PackFormatError, object_id
from tests.fuzz.fuzzing import count, fuzz_settings, no_hang
from tests.support import wire

TYPES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
NEW_REF = "refs/heads/fuzz-new"


# -- building packs ----------------------------------------------------------------------------------
def entry_header(type_num, size):
    first = (type_num << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(first | 0x80)
        first = size & 0x7F
        size >>= 7
    out.append(first)
    return bytes(out)


def ofs_distance(distance):
    """gitformat-pack's offset encoding: big-endian 7-bit groups, each continuation adding one."""
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def copy_op(offset, size):
    """A delta copy instruction (size 0x10000 is written as no size bytes)."""
    flags, args = 0x80, b""
    for i in range(4):
        byte = (offset >> (8 * i)) & 0xFF
        if byte:
            flags |= 1 << i
            args += bytes([byte])
    stored = 0 if size == 0x10000 else size
    for i in range(3):
        byte = (stored >> (8 * i)) & 0xFF
        if byte:
            flags |= 0x10 << i
            args += bytes([byte])
    return bytes([flags]) + args


def insert_ops(data):
    return b"".join(bytes([len(data[i:i + 127])]) + data[i:i + 127] for i in range(0, len(data), 127))


def make_delta(base, target, cuts):
    """Delta data building `target` from `base`: the longest prefix and suffix they share are
    copied (the prefix cut into pieces at `cuts`), the rest inserted."""
    prefix = 0
    while prefix < min(len(base), len(target)) and base[prefix] == target[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(base), len(target)) - prefix
           and base[len(base) - 1 - suffix] == target[len(target) - 1 - suffix]):
        suffix += 1
    ops, at = b"", 0
    for cut in sorted({c % (prefix + 1) for c in cuts} | {prefix}):
        if cut > at:
            ops += copy_op(at, cut - at)
            at = cut
    ops += insert_ops(target[prefix:len(target) - suffix])
    if suffix:
        ops += copy_op(len(base) - suffix, suffix)
    return varint(len(base)) + varint(len(target)) + ops


class PackBuilder:
    """Entries in order; remembers where each entry and each delta base field is."""

    def __init__(self):
        self.body = bytearray()
        self.offsets = []        # entry start offsets (from the start of the pack)
        self.base_fields = []    # (offset, length) of every OFS distance / REF oid field
        self.count = 0

    def _start(self):
        self.offsets.append(12 + len(self.body))
        self.count += 1

    def whole(self, type_num, data, level):
        self._start()
        self.body += entry_header(type_num, len(data)) + zlib.compress(data, level)

    def ofs_delta(self, base_index, delta, level):
        self._start()
        head = entry_header(6, len(delta))
        distance = ofs_distance(self.offsets[-1] - self.offsets[base_index])
        self.base_fields.append((self.offsets[-1] + len(head), len(distance)))
        self.body += head + distance + zlib.compress(delta, level)

    def ref_delta(self, base_oid, delta, level):
        self._start()
        head = entry_header(7, len(delta))
        self.base_fields.append((self.offsets[-1] + len(head), 20))
        self.body += head + base_oid + zlib.compress(delta, level)

    def pack(self):
        data = b"PACK" + struct.pack(">II", 2, self.count) + bytes(self.body)
        return data + hashlib.sha1(data).digest()


_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-é", min_size=1, max_size=12).filter(
    lambda n: not n.startswith(".") and n not in ("..",))


@st.composite
def object_sets(draw, existing_blobs, main_tip):
    """Random blobs, a tree of them and a commit: [(type name, data)], commit first-parented on main
    or a root. The blobs may share content with each other and with blobs already in the store."""
    blobs = []
    for _ in range(draw(st.integers(1, 5))):
        if blobs and draw(st.booleans()):  # a variation of an earlier blob: a good delta target
            base = draw(st.sampled_from(blobs))
            at = draw(st.integers(0, len(base)))
            data = base[:at] + draw(st.binary(max_size=40)) + base[at + draw(st.integers(0, 20)):]
        elif draw(st.integers(0, 4)) == 0:
            data = draw(st.sampled_from(existing_blobs)) + draw(st.binary(max_size=8))
        else:
            data = draw(st.one_of(st.binary(max_size=300),
                                  st.tuples(st.binary(min_size=1, max_size=16), st.integers(1, 400)).map(
                                      lambda p: (p[0] * p[1])[:3000])))
        blobs.append(data)
    names = draw(st.lists(_NAME, min_size=len(blobs), max_size=len(blobs), unique=True))
    modes = draw(st.lists(st.sampled_from(["100644", "100755", "120000"]), min_size=len(blobs), max_size=len(blobs)))
    entries = sorted(zip(names, modes, blobs), key=lambda e: e[0].encode())
    tree = wire.tree_body([(mode, name, wire.object_id("blob", data)) for name, mode, data in entries])
    parents = [main_tip] if draw(st.booleans()) else []
    message = draw(st.text(max_size=60))
    commit = wire.commit_body(wire.object_id("tree", tree), parents, message=message,
                              when=draw(st.integers(0, 2 ** 33)))
    return [("blob", b) for b in blobs] + [("tree", tree), ("commit", commit)]


@st.composite
def packs(draw, objects, existing):
    """A valid pack of `objects` in a drawn order, each entry whole or a delta (OFS on an earlier entry
    of its type, REF on any entry of its type or on a stored object). -> (pack bytes, builder)."""
    order = draw(st.permutations(range(len(objects))))
    # Dedupe: one entry per object (a pack holding an object twice is refused, rightly).
    seen, unique = set(), []
    for i in order:
        oid = object_id(TYPES[objects[i][0]], objects[i][1])
        if oid not in seen:
            seen.add(oid)
            unique.append(i)
    builder, placed = PackBuilder(), []      # placed: (entry index, type, data, oid)
    ref_later = []
    for i in unique:
        kind, data = objects[i]
        type_num = TYPES[kind]
        level = draw(st.sampled_from([0, 1, 6, 9]))
        same_type = [p for p in placed if p[1] == type_num]
        outside = [(t, d) for t, d in existing if t == type_num]
        choice = draw(st.sampled_from(["whole", "ofs", "ref", "ref-outside", "ref-later"]))
        cuts = draw(st.lists(st.integers(0, 5000), max_size=3))
        if choice == "ofs" and same_type:
            base = draw(st.sampled_from(same_type))
            builder.ofs_delta(base[0], make_delta(base[2], data, cuts), level)
        elif choice == "ref" and same_type:
            base = draw(st.sampled_from(same_type))
            builder.ref_delta(base[3], make_delta(base[2], data, cuts), level)
        elif choice == "ref-outside" and outside:
            base_type, base_data = draw(st.sampled_from(outside))
            builder.ref_delta(object_id(base_type, base_data), make_delta(base_data, data, cuts), level)
        elif choice == "ref-later" and placed:
            ref_later.append((i, level, cuts))  # a REF_DELTA whose base comes after it in the pack
            continue
        else:
            builder.whole(type_num, data, level)
        placed.append((builder.count - 1, type_num, data, object_id(type_num, data)))
    for i, level, cuts in ref_later:
        kind, data = objects[i]
        base = draw(st.sampled_from([p for p in placed if p[1] == TYPES[kind]] or [None]))
        if base is None:
            builder.whole(TYPES[kind], data, level)
        else:
            # Put the delta before its base: move it to the front of the body.
            delta = make_delta(base[2], data, cuts)
            head = entry_header(7, len(delta))
            entry = head + base[3] + zlib.compress(delta, level)
            builder.body[0:0] = entry
            builder.offsets = [12] + [o + len(entry) for o in builder.offsets]
            builder.base_fields = [(12 + len(head), 20)] + [(o + len(entry), n) for o, n in builder.base_fields]
            builder.count += 1
    return builder.pack(), builder


# -- the store ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def existing(fuzz_template):
    """Blobs and trees already in the store (bases for thin deltas) and main's tip."""
    with RepoStore.open(fuzz_template) as store:
        rows = store.con.execute("SELECT oid FROM objects WHERE type IN (2, 3) ORDER BY oid").fetchall()
        objects = [store.get(oid) for (oid,) in rows]
        return objects, store.ref("refs/heads/main")


@pytest.fixture
def fresh_store(fuzz_template, tmp_path):
    """fresh() -> a store just like the template (its own copy: a push may land)."""
    opened = []

    def fresh():
        for store in opened:
            store.close()
        opened.clear()
        path = tmp_path / "store.sqlite3"
        for leftover in (path, tmp_path / "store.sqlite3-wal", tmp_path / "store.sqlite3-shm"):
            if leftover.exists():
                leftover.unlink()
        shutil.copyfile(fuzz_template, path)
        opened.append(RepoStore.open(path))
        return opened[0]

    yield fresh
    for store in opened:
        store.close()


def state_of(store):
    con = store.con
    return (store.refs(), *(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                            for table in ("objects", "packs", "commits")))


def push(store, tmp_path, pack_data, commit_oid):
    body = wire.receive_pack_request([(wire.ZERO, commit_oid.hex(), NEW_REF)], pack_data)
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    with no_hang("checking a pack"):
        response, _outcome = serve_receive(store, io.BytesIO(body), tmp_dir=str(spool), max_pack_bytes=1 << 30)
    report = wire.parse_report(response)
    assert report is not None and report["error"] is None, response[:300]
    return report


def test_valid_packs_of_random_objects_are_accepted_and_read_back(existing, fresh_store, tmp_path):
    stored, main_tip = existing
    blobs = [data for type_num, data in stored if type_num == 3]

    @fuzz_settings(short_share=0.7)
    @given(data=st.data())
    def run(data):
        count("pack: valid packs accepted")
        objects = data.draw(object_sets(blobs, main_tip.hex()))
        pack_data, _builder = data.draw(packs(objects, stored))
        store = fresh_store()
        commit_oid = object_id(1, objects[-1][1])
        report = push(store, tmp_path, pack_data, commit_oid)
        deltas = len(_builder.base_fields)
        count(f"pack: valid packs accepted / with {deltas if deltas < 3 else '3 or more'} delta entries")
        assert report["unpack"] == "ok" and report["refs"] == {NEW_REF: "ok"}, report
        assert store.ref(NEW_REF) == commit_oid
        for kind, raw in objects:
            assert store.get(object_id(TYPES[kind], raw)) == (TYPES[kind], raw)

    run()


# -- mutations ---------------------------------------------------------------------------------------
def _mutation():
    position = st.integers(0, 2 ** 20)
    return st.one_of(
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.just("truncate"), position),
        st.tuples(st.just("header"), st.sampled_from([b"PACK", b"PACX", b"KCAP", b"\0\0\0\0"]),
                  st.sampled_from([2, 3, 1, 4, 0, 2 ** 32 - 1])),
        st.tuples(st.just("count"), st.sampled_from([-2, -1, 1, 2, 1000, "max", "zero"])),
        st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), position, st.integers(1, 40)),
        st.tuples(st.just("base"), position, st.binary(min_size=1, max_size=3)),
        st.tuples(st.just("duplicate"), position),
        st.tuples(st.just("size"), position, st.sampled_from([0, 1, 2 ** 20, 6 << 32, 2 ** 50, 2 ** 62])),
    )


def mutate(body, builder, mutation):
    """`body` (a pack without its trailer) changed by one mutation."""
    body = bytearray(body)
    kind = mutation[0]
    if kind == "flip":
        at = 12 + mutation[1] % max(1, len(body) - 12)
        if at < len(body):
            body[at] ^= 1 << mutation[2]
    elif kind == "truncate":
        del body[mutation[1] % (len(body) + 1):]
    elif kind == "header":
        body[0:8] = mutation[1] + struct.pack(">I", mutation[2])
    elif kind == "count":
        delta = mutation[1]
        new = 0xFFFFFFFF if delta == "max" else 0 if delta == "zero" else max(0, builder.count + delta)
        body[8:12] = struct.pack(">I", new)
    elif kind == "insert":
        at = mutation[1] % (len(body) + 1)
        body[at:at] = mutation[2]
    elif kind == "delete":
        at = 12 + mutation[1] % max(1, len(body) - 12)
        del body[at:at + mutation[2]]
    elif kind == "base" and builder.base_fields:
        offset, length = builder.base_fields[mutation[1] % len(builder.base_fields)]
        field = bytearray(body[offset:offset + length])
        for i, byte in enumerate(mutation[2][:len(field)]):
            field[i % len(field)] ^= byte or 0xFF
        body[offset:offset + length] = field
    elif kind == "duplicate":
        i = mutation[1] % len(builder.offsets)
        end = builder.offsets[i + 1] if i + 1 < len(builder.offsets) else len(body)
        body += body[builder.offsets[i]:end]
        body[8:12] = struct.pack(">I", builder.count + 1)
    elif kind == "size":
        # Rewrite an entry's declared size (the header may change length: the rest shifts).
        start = builder.offsets[mutation[1] % len(builder.offsets)]
        if start < len(body):
            type_num = (body[start] >> 4) & 7
            end = start
            while end + 1 < len(body) and body[end] & 0x80:
                end += 1
            body[start:end + 1] = entry_header(type_num, mutation[2])
    return bytes(body)


def test_mutated_packs_are_refused_cleanly_and_change_nothing(existing, fresh_store, tmp_path, fuzz_git):
    stored, main_tip = existing
    blobs = [data for type_num, data in stored if type_num == 3]

    @fuzz_settings()
    @given(data=st.data(), mutations=st.lists(_mutation(), min_size=1, max_size=3),
           trailer=st.sampled_from(["recomputed", "recomputed", "recomputed", "kept", "dropped", "garbage"]))
    @example(data=None, mutations=[("count", "max")], trailer="recomputed")
    @example(data=None, mutations=[("size", 0, 2 ** 62)], trailer="recomputed")
    @example(data=None, mutations=[("base", 0, b"\x01")], trailer="recomputed")
    @example(data=None, mutations=[("duplicate", 0)], trailer="recomputed")
    # Found by make fuzz: a declared size of petabytes made the C reader raise MemoryError (a 500 over HTTP).
    @example(data=None, mutations=[("size", 0, 2 ** 50)], trailer="recomputed")
    def run(data, mutations, trailer):
        count("pack: mutated packs")
        if data is None:  # the explicit examples: a fixed pack with a delta of each kind
            rng = random.Random(1)
            objects = [("blob", rng.randbytes(200)), ("blob", b"x" * 150)]
            builder = PackBuilder()
            builder.whole(3, objects[0][1], 6)
            builder.ofs_delta(0, make_delta(objects[0][1], objects[0][1][:100] + b"new", [50]), 6)
            builder.ref_delta(object_id(3, objects[0][1]), make_delta(objects[0][1], b"x" * 150, []), 6)
            pack_data, commit_oid = builder.pack(), main_tip
        else:
            objects = data.draw(object_sets(blobs, main_tip.hex()))
            pack_data, builder = data.draw(packs(objects, stored))
            commit_oid = object_id(1, objects[-1][1])
        mutated = pack_data[:-20]
        for mutation in mutations:
            mutated = mutate(mutated, builder, mutation)
        if trailer == "recomputed":
            mutated += hashlib.sha1(mutated).digest()
        elif trailer == "kept":
            mutated += pack_data[-20:]
        elif trailer == "garbage":
            mutated += b"\xff" * 20
        store = fresh_store()
        before = state_of(store)
        report = push(store, tmp_path, mutated, commit_oid)
        count("pack: mutated packs / unpack " + re.sub(r"[0-9a-f]{6,}|\d+", "N", report["unpack"])[:50])
        if report["unpack"] != "ok":
            assert report["refs"] and all(v.startswith("ng ") for v in report["refs"].values()), report
            assert state_of(store) == before
            return
        # The mutation left a pack git would accept too: whatever was stored is what its id says.
        for (oid,) in store.con.execute("SELECT oid FROM objects").fetchall():
            type_num, raw = store.get(oid)
            assert object_id(type_num, raw) == oid

    run()


# -- C speedups against their Python references --------------------------------------------------------
@pytest.mark.skipif(indexer.read_entry is indexer.read_entry_py, reason="the C speedups are not built")
@fuzz_settings()
@given(data=st.one_of(st.binary(max_size=80),
                      st.tuples(st.integers(0, 7), st.integers(0, 300), st.binary(max_size=200), st.integers(0, 9),
                                st.binary(max_size=4), st.integers(0, 40)).map(
                          lambda p: (entry_header(p[0], p[1]) + (ofs_distance(p[1]) if p[0] == 6 else b"")
                                     + zlib.compress(p[2], p[3]) + p[4])[:len(p[2]) + 40 - p[5]])),
       limit_cut=st.integers(0, 30))
@example(data=entry_header(3, 2 ** 50) + zlib.compress(b"x"), limit_cut=0)
def test_the_c_entry_reader_agrees_with_the_python_one(data, limit_cut):
    count("pack: read_entry C == Python")
    limit = max(0, len(data) - limit_cut)

    def outcome(read):
        try:
            return read(data, 0, limit)
        except (ValueError, PackFormatError, IndexError, MemoryError) as e:
            # MemoryError: the C reader allocates the declared size first (found by make fuzz: a
            # header claiming 24 GiB crashed a push; indexer._entry now refuses the pack).
            return type(e).__name__

    python = outcome(indexer.read_entry_py)
    c = outcome(indexer.read_entry)
    if isinstance(python, str) or isinstance(c, str):
        assert isinstance(python, str) and isinstance(c, str), (python, c)
    else:
        assert c == python


_TREE_MODES = st.sampled_from([b"40000", b"100644", b"100755", b"120000", b"160000", b"100664", b"644", b"040000",
                               b"1006440", b""])
_TREE_NAMES = st.one_of(st.sampled_from([b".", b"..", b".git", b".GIT", b"a", b"a.b", b"a/b", b"", b"b", b"a-",
                                         b"\xff"]), st.binary(max_size=6))
_tree_entry = st.tuples(_TREE_MODES, _TREE_NAMES, st.binary(min_size=20, max_size=20)).map(
    lambda e: e[0] + b" " + e[1] + b"\0" + e[2])


@pytest.mark.skipif(trees.check_tree is trees.check_tree_py, reason="the C speedups are not built")
@fuzz_settings()
@given(raw=st.one_of(st.binary(max_size=100), st.lists(_tree_entry, max_size=5).map(b"".join),
                     st.tuples(st.lists(_tree_entry, max_size=4).map(b"".join), st.integers(0, 25)).map(
                         lambda p: p[0][:len(p[0]) - p[1]])))
@example(raw=b"100644 a\0" + b"1" * 20 + b"100644 a\0" + b"2" * 20)
@example(raw=b"40000 .git\0" + b"1" * 20)
def test_the_c_tree_check_agrees_with_the_python_one(raw):
    count("pack: check_tree C == Python")

    def outcome(check):
        try:
            return check(raw)
        except ValueError:
            return "refused"

    python, c = outcome(trees.check_tree_py), outcome(trees.check_tree)
    if python == "refused" or c == "refused":
        assert python == c
    else:
        assert dict(python[0]) == dict(c[0]) and sorted(python[1]) == sorted(c[1])
