"""Archives of one commit (tar.gz and zip) as `git archive` writes them, streamed.

    for chunk in tar_gz_stream(store, commit, "proj-main/"): response.write(chunk)
    for chunk in zip_stream(store, commit, "proj-main/"): ...

Same entries in the same order as `git archive --prefix=PREFIX COMMIT`, with git's modes, times
and headers; the uncompressed tar is byte for byte git's, and so is the zip (git's deflate, level 6,
through the same zlib), except that blobs above STREAM_ABOVE are deflated in pieces behind a data
descriptor, which git does only above core.bigFileThreshold (512 MiB).

Memory stays bounded: one blob is held at a time (store.get reads it whole), it is fed to the
compressor in slices, and compressed output leaves in chunks of at least CHUNK bytes as soon as
there are that many. The zip's central directory (about 60 bytes per entry) is the one thing that
grows with the repository.

Not done as git does: `.gitattributes` (export-ignore, export-subst, eol and filters) is not applied;
git applies them from the archived tree. No Django here.
"""
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Iterator

from .browse import NotFound
from .packformat import OBJ_BLOB, OBJ_TREE
from .trees import MODE_GITLINK, MODE_TREE, tree_entries

CHUNK = 64 * 1024            # the smallest piece handed to the caller (except the last)
FEED = 256 * 1024            # a blob reaches the compressor in slices of this size
STREAM_ABOVE = 1 << 20       # zip: larger blobs are deflated in pieces, behind a data descriptor
LEVEL = 6                    # zlib's default, what git uses for both formats

MODE_SYMLINK = 0o120000
MODE_DIR_ENTRY = 0o040777    # how git archive hands directories (and the prefix) to its writers


@dataclass(frozen=True)
class ArchiveEntry:
    """One member as git archive lists it: directories (and submodules) end with '/'."""
    path: bytes
    mode: int                # git's tree mode; MODE_DIR_ENTRY for directories
    oid: bytes

    @property
    def is_dir(self):
        return self.mode & 0o170000 == MODE_TREE or self.mode == MODE_GITLINK

    @property
    def is_symlink(self):
        return self.mode == MODE_SYMLINK


def archive_entries(store, commit, prefix=b"") -> Iterator[ArchiveEntry]:
    """The members of `git archive --prefix=PREFIX commit`, in its order: the prefix directory
    (when the prefix ends with '/'), then the tree depth first in tree order. Like git, a
    directory is listed only once something under it is (so a tree holding nothing but empty
    trees is left out), and a submodule becomes an empty directory."""
    prefix = _as_bytes(prefix)
    root = _commit_node(store, commit).tree
    if prefix.endswith(b"/"):
        yield ArchiveEntry(prefix.rstrip(b"/") + b"/", MODE_DIR_ENTRY, root)
    pending = []                        # directories entered but not yet listed, outermost first
    stack = [(iter(tree_entries(_read(store, root, OBJ_TREE))), prefix)]
    while stack:
        entries, base = stack[-1]
        item = next(entries, None)
        if item is None:
            stack.pop()
            if pending and pending[-1].path == base:
                pending.pop()           # nothing was under it: git leaves it out too
            continue
        mode, name, oid = item
        path = base + name
        if mode & 0o170000 == MODE_TREE:
            pending.append(ArchiveEntry(path + b"/", MODE_DIR_ENTRY, oid))
            stack.append((iter(tree_entries(_read(store, oid, OBJ_TREE))), path + b"/"))
            continue
        yield from pending
        pending.clear()
        yield ArchiveEntry(path + b"/" if mode == MODE_GITLINK else path, mode, oid)


def tar_gz_stream(store, commit, prefix, level=LEVEL) -> Iterator[bytes]:
    """`git archive --format=tar --prefix=PREFIX commit | gzip -n`, in chunks of >= CHUNK bytes."""
    gzip = zlib.compressobj(level, zlib.DEFLATED, 31)   # 31: gzip wrapper, no name, mtime 0
    out = _Chunker()
    for piece in _tar_pieces(store, commit, prefix):
        out.add(gzip.compress(piece))
        yield from out.ready()
    out.add(gzip.flush())
    yield from out.rest()


def tar_stream(store, commit, prefix) -> Iterator[bytes]:
    """The uncompressed tar, byte for byte `git archive --format=tar` (pieces of any size)."""
    return (bytes(piece) for piece in _tar_pieces(store, commit, prefix))


def zip_stream(store, commit, prefix, level=LEVEL) -> Iterator[bytes]:
    """`git archive --format=zip --prefix=PREFIX commit`, in chunks of >= CHUNK bytes."""
    out = _Chunker()
    for piece in _ZipWriter(store, commit, prefix, level).pieces():
        out.add(piece)
        yield from out.ready()
    yield from out.rest()


# -- shared -------------------------------------------------------------------------------------

class _Chunker:
    """Collects output until there is at least CHUNK of it, so callers never see dribbles."""

    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, data):
        if data:
            self.parts.append(bytes(data))
            self.size += len(data)

    def ready(self):
        if self.size >= CHUNK:
            yield from self.rest()

    def rest(self):
        if self.parts:
            data = b"".join(self.parts)
            self.parts, self.size = [], 0
            yield data


def _as_bytes(text):
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def _commit_node(store, commit):
    node = store.graph.node(commit)
    if node is None:
        raise NotFound(commit.hex())
    return node


def _read(store, oid, expected):
    type_num, data = store.get(oid)
    if type_num != expected:
        raise NotFound(f"{oid.hex()} is not a {'tree' if expected == OBJ_TREE else 'blob'}")
    return data


def _slices(data):
    view = memoryview(data)
    for start in range(0, len(view), FEED):
        yield view[start:start + FEED]


# -- tar ----------------------------------------------------------------------------------------
# ustar headers as git's archive-tar.c fills them: owner root/root (0/0), mode after tar.umask 002
# (files 0664, executables and directories 0775, symlinks 0777), every mtime the commit's committer
# time, pax records for what ustar cannot hold, and output padded to git's 10240-byte blocks.

RECORD = 512
BLOCK = RECORD * 20
TAR_UMASK = 0o002
USTAR_MAX = 0o77777777777    # 11 octal digits: sizes and times beyond need pax records


def _tar_pieces(store, commit, prefix):
    node = _commit_node(store, commit)
    mtime = node.time
    written = 0
    records = _pax_record(b"comment", node.oid.hex().encode())
    if mtime > USTAR_MAX:
        records += _pax_record(b"mtime", str(mtime).encode())
        mtime = USTAR_MAX
    for piece in _tar_member(b"pax_global_header", 0o100666, len(records), b"g", mtime) + [records, _pad(len(records))]:
        written += len(piece)
        yield piece
    for entry in archive_entries(store, commit, prefix):
        for piece in _tar_entry(store, entry, mtime):
            written += len(piece)
            yield piece
    tail = BLOCK - written % BLOCK
    yield bytes(tail if tail >= 2 * RECORD else tail + BLOCK)


def _tar_entry(store, entry, mtime):
    mode, path, data, linkname = entry.mode, entry.path, None, b""
    if entry.is_dir:
        typeflag, mode = b"5", (mode | 0o777) & ~TAR_UMASK
    elif entry.is_symlink:
        typeflag, mode = b"2", mode | 0o777
        linkname = _read(store, entry.oid, OBJ_BLOB)
    else:
        typeflag = b"0"
        mode = (mode | (0o777 if mode & 0o100 else 0o666)) & ~TAR_UMASK
        data = _read(store, entry.oid, OBJ_BLOB)
    records, name, name_prefix = b"", path, b""
    if len(path) > 100:
        cut = _path_prefix(path, 155)
        if cut > 0 and len(path) - cut - 1 <= 100:
            name_prefix, name = path[:cut], path[cut + 1:]
        else:
            name = entry.oid.hex().encode() + b".data"
            records += _pax_record(b"path", path)
    if len(linkname) > 100:
        records += _pax_record(b"linkpath", linkname)
        linkname = b"see " + entry.oid.hex().encode() + b".paxheader"
    size = len(data) if data is not None else 0
    size_in_header = size
    if size > USTAR_MAX:
        records += _pax_record(b"size", str(size).encode())
        size_in_header = 0
    if records:
        yield from _tar_member(entry.oid.hex().encode() + b".paxheader", 0o100666, len(records), b"x", mtime)
        yield records
        yield _pad(len(records))
    yield from _tar_member(name, mode, size_in_header, typeflag, mtime, linkname, name_prefix)
    if size:
        yield from _slices(data)
        yield _pad(size)


def _tar_member(name, mode, size, typeflag, mtime, linkname=b"", prefix=b""):
    """One 512-byte ustar header (as a list, to splice into a stream of pieces)."""
    is_regular = mode & 0o170000 == 0o100000

    def octal(value, width):
        return b"%0*o\0" % (width - 1, value)

    header = b"".join([
        name.ljust(100, b"\0"),
        octal(mode & 0o7777, 8), octal(0, 8), octal(0, 8),
        octal(size if is_regular else 0, 12), octal(mtime, 12),
        b" " * 8,                                   # the checksum counts its own field as spaces
        typeflag, linkname.ljust(100, b"\0"),
        b"ustar\0", b"00", b"root".ljust(32, b"\0"), b"root".ljust(32, b"\0"),
        octal(0, 8), octal(0, 8), prefix.ljust(155, b"\0"), bytes(12),
    ])
    checksum = octal(sum(header), 8)
    return [header[:148] + checksum + header[156:]]


def _path_prefix(path, limit):
    """Where git splits a long path into ustar's prefix and name fields (0: it cannot)."""
    i = len(path)
    if i > 1 and path[i - 1:i] == b"/":
        i -= 1
    i = min(i, limit)
    while True:
        i -= 1
        if i <= 0 or path[i:i + 1] == b"/":
            return max(i, 0)


def _pax_record(keyword, value):
    """"LEN KEYWORD=VALUE\\n", LEN counting itself, computed as git does."""
    length = 1 + 1 + len(keyword) + 1 + len(value) + 1
    digits = length
    while digits > 9:
        length += 1
        digits //= 10
    return b"%d %s=%s\n" % (length, keyword, value)


def _pad(size):
    return bytes(-size % RECORD)


# -- zip ----------------------------------------------------------------------------------------
# Laid out as git's archive-zip.c does: an extended-timestamp extra field on every entry, DOS time
# in local time, executables and symlinks with Unix modes (creator 3.23) and everything else with
# MS-DOS attributes (a directory is attribute 16), blobs deflated unless that does not make them
# smaller, the text bit set for files without a NUL in their first 8000 bytes, UTF-8 names
# flagged, the commit id as the archive comment, zip64 records only where sizes or offsets need it.

ZIP_STREAM = 1 << 3          # sizes and CRC follow the data, in a data descriptor
ZIP_UTF8 = 1 << 11
U32 = 0xFFFFFFFF


class _ZipWriter:
    def __init__(self, store, commit, prefix, level):
        self.store, self.commit, self.prefix, self.level = store, commit, prefix, level
        node = _commit_node(store, commit)
        self.mtime = node.time
        local = time.localtime(self.mtime)
        self.dos_date = (local.tm_mday + (local.tm_mon) * 32 + (local.tm_year - 1980) * 512) & 0xFFFF
        self.dos_time = local.tm_sec // 2 + local.tm_min * 32 + local.tm_hour * 2048
        self.extra_mtime = struct.pack("<HHBI", 0x5455, 5, 1, self.mtime & U32)
        self.offset = 0
        self.directory = bytearray()
        self.entries = 0
        self.max_creator = 0

    def pieces(self):
        for entry in archive_entries(self.store, self.commit, self.prefix):
            for piece in self.entry(entry):
                self.offset += len(piece)
                yield piece
        yield from self.trailer()

    def entry(self, entry):
        path, mode = entry.path, entry.mode
        offset = self.offset
        flags = 0
        if not path.isascii():
            try:
                path.decode("utf-8")
                flags |= ZIP_UTF8
            except UnicodeDecodeError:
                pass                    # git warns and writes the name as it is
        creator, needed, crc, size, method = 0, 10, 0, 0, 0
        attributes, is_text, data = 0, 0, None
        if entry.is_dir:
            attributes = 16
        else:
            data = _read(self.store, entry.oid, OBJ_BLOB)
            size = len(data)
            if entry.is_symlink:
                attributes = (mode | 0o777) << 16
            elif mode & 0o111:
                attributes = mode << 16
            if entry.is_symlink or mode & 0o111:
                creator = 0x0317
            if not entry.is_symlink and self.level != 0 and size > 0:
                method = 8
            is_text = int(b"\0" not in data[:8000])
        self.max_creator = max(self.max_creator, creator)
        streamed = method == 8 and size > STREAM_ABOVE
        compressed_size = size if method == 0 else 0
        body = data
        if data is not None and not streamed:
            crc = zlib.crc32(data)
            if method == 8:
                deflate = zlib.compressobj(self.level, zlib.DEFLATED, -15)
                body = deflate.compress(data) + deflate.flush()
                if len(body) >= size:
                    body, method = data, 0
                compressed_size = len(body)
        if streamed:
            flags |= ZIP_STREAM
        zip64_local = size > U32 or compressed_size > U32 or (streamed and size > 0x7FFFFFFF)
        if zip64_local:
            needed = 45
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, needed, flags, method, self.dos_time, self.dos_date,
                             crc, U32 if zip64_local else compressed_size, U32 if zip64_local else size,
                             len(path), len(self.extra_mtime) + (20 if zip64_local else 0))
        yield header + path + self.extra_mtime
        if zip64_local:
            yield struct.pack("<HHQQ", 0x0001, 16, size, compressed_size)
        if streamed:
            crc, compressed_size = 0, 0
            deflate = zlib.compressobj(self.level, zlib.DEFLATED, -15)
            for piece in _slices(data):
                crc = zlib.crc32(piece, crc)
                out = deflate.compress(piece)
                compressed_size += len(out)
                yield out
            out = deflate.flush()
            compressed_size += len(out)
            yield out
            if size >= U32 or compressed_size >= U32:
                yield struct.pack("<IIQQ", 0x08074B50, crc, compressed_size, size)
            else:
                yield struct.pack("<IIII", 0x08074B50, crc, compressed_size, size)
        elif body:
            yield from _slices(body)
        self.add_to_directory(path, creator, needed, flags, method, crc, compressed_size, size,
                              is_text, attributes, offset)

    def add_to_directory(self, path, creator, needed, flags, method, crc, compressed_size, size,
                         is_text, attributes, offset):
        zip64 = b""
        if compressed_size > U32 or size > U32 or offset > U32:
            values = [v for v in (size, compressed_size, offset) if v >= U32]
            zip64 = struct.pack("<HH", 0x0001, 8 * len(values)) + b"".join(struct.pack("<Q", v) for v in values)
        self.directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, creator, needed, flags, method, self.dos_time, self.dos_date,
            crc, min(compressed_size, U32), min(size, U32), len(path), len(self.extra_mtime) + len(zip64),
            0, 0, is_text, attributes, min(offset, U32))
        self.directory += path + self.extra_mtime + zip64
        self.entries += 1

    def trailer(self):
        start, length = self.offset, len(self.directory)
        yield from _slices(self.directory)
        clamped = self.entries > 0xFFFF or start > U32
        if clamped:
            yield struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, self.max_creator, 45, 0, 0,
                              self.entries, self.entries, length, start)
            yield struct.pack("<IIQI", 0x07064B50, 0, start + length, 1)
        comment = self.commit.hex().encode()
        yield struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(self.entries, 0xFFFF), min(self.entries, 0xFFFF),
                          length, min(start, U32), len(comment)) + comment


__all__ = ["ArchiveEntry", "archive_entries", "tar_gz_stream", "tar_stream", "zip_stream", "CHUNK"]
