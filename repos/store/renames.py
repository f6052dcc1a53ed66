"""Rename detection as `git diff -M` does it by default, written from git's documentation and a
reading of diffcore-rename.c / diffcore-delta.c (no code copied).

Between the files a diff deletes and the files it adds, in this order:
1. exact renames: same blob (and, for symlinks and gitlinks, the same mode); a source with the
   same basename as the destination is preferred, else the first in path order;
2. basename pairs: a remaining source and destination whose basename is unique on both sides
   are paired when they are at least 75% similar (halfway between the 50% minimum and 100%);
3. the matrix: every remaining destination against every remaining source (unless there are
   more than RENAME_LIMIT**2 pairs), the best four sources kept per destination; all the kept
   pairs sorted by score (ties: same basename first, then matrix order) and taken greedily.
Only regular files are compared by content. A similarity is git's estimate: both blobs are cut
into spans (at '\\n' or every 64 bytes, CR of CRLF dropped in text), spans hashed and counted;
score = bytes of the source found again in the destination / the larger size.
"""
import struct
import threading
from collections import Counter, OrderedDict

MAX_SCORE = 60000
MINIMUM_SCORE = MAX_SCORE // 2          # -M without a number: 50%
RENAME_LIMIT = 1000                     # git's diff.renameLimit default
CANDIDATES_PER_DESTINATION = 4
# git >= 2.44 also counts a last line that has no newline (and is shorter than 64 bytes); older
# git ignores it. It moves a similarity by a few percent for small files.
COUNT_UNTERMINATED_TAIL = True

# Blobs larger than this are left out of inexact matching (git would hash them too, at a cost a
# web page cannot pay); exact renames of them are still found.
MAX_SIMILARITY_BYTES = 8 << 20

_HASHBASE = 107927
_LANE = 9                               # bytes per lane of the packed span states (72 bits)
_FIRST_FEW_BYTES = 8000


def is_regular(mode):
    return mode & 0o170000 == 0o100000


def is_binary(data):
    """git's rule: a NUL byte among the first 8000 bytes."""
    return b"\0" in data[:_FIRST_FEW_BYTES]


def basename(path):
    return path.rsplit(b"/", 1)[-1]


def _spans(data):
    """The spans git hashes: each line (with its '\\n') cut into 64-byte pieces. A last piece
    shorter than 64 bytes without a newline is included only when COUNT_UNTERMINATED_TAIL."""
    lines = data.split(b"\n")
    tail = lines.pop()
    spans = []
    for line in lines:
        line += b"\n"
        if len(line) <= 64:
            spans.append(line)
        else:
            spans.extend(line[i:i + 64] for i in range(0, len(line), 64))
    if tail:
        full = len(tail) - len(tail) % 64
        spans.extend(tail[i:i + 64] for i in range(0, full, 64))
        if full < len(tail) and COUNT_UNTERMINATED_TAIL:
            spans.append(tail[full:])
    return spans


class BlobSpans:
    """A blob cut as diffcore-delta cuts it (CR of CRLF dropped in text). `chunks`: distinct span ->
    occurrences, cheap to build; `hashed()`: {span hash: bytes}, git's own counts (distinct spans
    whose hashes collide count together), computed on first use."""
    __slots__ = ("chunks", "_hashed")

    def __init__(self, data):
        if not is_binary(data):
            data = data.replace(b"\r\n", b"\n")
        self.chunks = Counter(_spans(data))
        self._hashed = None

    def hashed(self):
        if self._hashed is None:
            counts = {}
            by_width = {}
            for span, times in self.chunks.items():       # repeated lines are hashed once
                by_width.setdefault((len(span) + 15) // 16, []).append((span, times))
            for quarter, group in by_width.items():
                spans = [span for span, _ in group]
                for key, (span, times) in zip(_span_hashes(spans, quarter * 16), group):
                    counts[key] = counts.get(key, 0) + len(span) * times
            self._hashed = counts
        return self._hashed

    def common_unhashed(self, other):
        """Bytes of equal spans, without hashing: at most a few bytes under copied_bytes of the
        hashed counts (only hash collisions add to those), so a clear miss here stays a miss."""
        mine, theirs = self.chunks, other.chunks
        return sum(len(c) * min(n, theirs[c]) for c, n in mine.items() if c in theirs)


def span_counts(data):
    """{span hash: bytes} for one blob, as diffcore-delta counts them."""
    return BlobSpans(data).hashed()


def _span_hashes(spans, width):
    """git's hash of each span (at most `width` bytes).

    git keeps a 64-bit state per span: rotate left by 7 bits, add the byte to the upper 32 bits.
    That is a sequential loop per byte, far too slow in Python, so every span runs at once: spans
    are right-aligned in rows of `width` bytes (leading zero bytes leave a zero state as it is)
    and their states packed as 72-bit lanes of one big integer, so one rotation of the big
    integer (masked per lane) advances every span by one byte; the spare 8 bits of a lane catch
    the carry out of the addition."""
    count = len(spans)
    rows = b"".join(span.rjust(width, b"\0") for span in spans)
    repeat = int.from_bytes((b"\x01" + b"\0" * (_LANE - 1)) * count, "little")
    low64 = ((1 << 64) - 1) * repeat
    low7 = 0x7F * repeat
    lanes = bytearray(_LANE * count)
    state = 0
    for column in range(width):
        lanes[4::_LANE] = rows[column::width]          # the byte, at bit 32 of its lane
        state = (((state << 7) & low64) | ((state >> 57) & low7)) + int.from_bytes(lanes, "little")
    packed = (state & low64).to_bytes(_LANE * count, "little")
    return [(((value >> 32) + (value & 0xFFFFFFFF) * 0x61) & 0xFFFFFFFF) % _HASHBASE
            for (value,) in struct.iter_unpack("<Qx", packed)]


def copied_bytes(src_counts, dst_counts):
    """Bytes of the source that the destination holds too (per span hash, the smaller count)."""
    if len(src_counts) > len(dst_counts):
        src_counts, dst_counts = dst_counts, src_counts
    get = dst_counts.get
    return sum(min(n, get(key, 0)) for key, n in src_counts.items())


_SPANS = OrderedDict()              # (blob oid, tail rule) -> BlobSpans, least recently used first
_SPANS_LOCK = threading.Lock()
_SPANS_ITEMS = 2000


def blob_spans(oid, data_of):
    """BlobSpans of blob `oid` (data_of(oid) reads it), kept in a small module-wide cache:
    addressed by blob id, they never go stale. Diffs, blame and --follow share it."""
    key = (oid, COUNT_UNTERMINATED_TAIL)
    with _SPANS_LOCK:
        spans = _SPANS.get(key)
        if spans is not None:
            _SPANS.move_to_end(key)
            return spans
    spans = BlobSpans(data_of(oid))
    with _SPANS_LOCK:
        _SPANS[key] = spans
        if len(_SPANS) > _SPANS_ITEMS:
            _SPANS.popitem(last=False)
    return spans


def clear_span_cache():
    with _SPANS_LOCK:
        _SPANS.clear()


class _Blobs:
    """Sizes of the blobs rename detection looks at, read at most once, and their span counts."""

    def __init__(self, size_of, data_of):
        self.size_of = size_of
        self.data_of = data_of
        self.sizes = {}

    def size(self, oid):
        size = self.sizes.get(oid)
        if size is None:
            size = self.sizes[oid] = self.size_of(oid)
        return size

    def counts(self, oid):
        return blob_spans(oid, self.data_of).hashed()


def _similarity(blobs, src, dst, minimum):
    """git's estimate_similarity: 0..MAX_SCORE. src and dst are (path, mode, oid)."""
    if not is_regular(src[1]) or not is_regular(dst[1]):
        return 0
    src_size, dst_size = blobs.size(src[2]), blobs.size(dst[2])
    larger = max(src_size, dst_size)
    # Sizes too far apart can never reach the minimum: skip without reading either blob.
    if larger * (MAX_SCORE - minimum) < (larger - min(src_size, dst_size)) * MAX_SCORE:
        return 0
    if not dst_size or larger > MAX_SIMILARITY_BYTES:
        return 0
    return copied_bytes(blobs.counts(src[2]), blobs.counts(dst[2])) * MAX_SCORE // larger


def _exact(sources, destinations, used, pairs):
    by_oid = {}
    for index, (_path, _mode, oid) in enumerate(sources):
        by_oid.setdefault(oid, []).append(index)
    for d, (path, mode, oid) in enumerate(destinations):
        best, best_score, examined = None, -1, 0
        for s in by_oid.get(oid, ()):
            src_mode = sources[s][1]
            if (not is_regular(src_mode) or not is_regular(mode)) and src_mode != mode:
                continue
            if s in used:
                continue
            score = 1 + (basename(sources[s][0]) == basename(path))
            if score > best_score:
                best, best_score = s, score
                if score == 2:
                    break
            examined += 1
            if examined == 100:       # too many identical alternatives: pick one
                break
        if best is not None:
            used.add(best)
            pairs[d] = (best, MAX_SCORE)


def _unique_basenames(items, skip):
    seen = {}
    for index, item in enumerate(items):
        if index in skip:
            continue
        base = basename(item[0])
        seen[base] = -1 if base in seen else index
    return seen


def _by_basename(blobs, sources, destinations, used, pairs, minimum):
    needed = minimum + (MAX_SCORE - minimum) // 2
    source_names = _unique_basenames(sources, used)
    destination_names = _unique_basenames(destinations, pairs)
    for s, src in enumerate(sources):
        if s in used:
            continue
        d = destination_names.get(basename(src[0]))
        if d is None or d == -1 or source_names[basename(src[0])] == -1 or d in pairs:
            continue
        score = _similarity(blobs, src, destinations[d], needed)
        if score >= needed:
            used.add(s)
            pairs[d] = (s, score)


def _sort_key(candidate):
    score, same_name, _d, _s = candidate
    return (-score, -same_name)


def _matrix(blobs, sources, destinations, used, pairs, minimum, limit):
    open_sources = [s for s in range(len(sources)) if s not in used]
    open_destinations = [d for d in range(len(destinations)) if d not in pairs]
    if not open_sources or not open_destinations:
        return
    if limit > 0 and len(open_sources) * len(open_destinations) > limit * limit:
        return
    kept = []
    for d in open_destinations:
        dst = destinations[d]
        best = []                     # up to four (score, same basename, d, s), in slot order
        for s in open_sources:
            src = sources[s]
            candidate = (_similarity(blobs, src, dst, minimum), int(basename(src[0]) == basename(dst[0])), d, s)
            if len(best) < CANDIDATES_PER_DESTINATION:
                best.append(candidate)
                continue
            # Replace the worst kept one (the first of equally bad ones) if this one is better.
            worst = 0
            for i in range(1, CANDIDATES_PER_DESTINATION):
                if _sort_key(best[i]) > _sort_key(best[worst]):
                    worst = i
            if _sort_key(best[worst]) > _sort_key(candidate):
                best[worst] = candidate
        kept.extend(best)
    kept.sort(key=_sort_key)          # stable, as git's sort is
    for score, _same, d, s in kept:
        if score < minimum:
            break
        if d in pairs or s in used:
            continue
        used.add(s)
        pairs[d] = (s, score)


def find_renames(sources, destinations, size_of, data_of, *, minimum=MINIMUM_SCORE, limit=RENAME_LIMIT):
    """Deleted files `sources` and added files `destinations`, each a list of (path bytes, mode,
    oid) in path order -> {destination index: (source index, score 0..MAX_SCORE)}.
    size_of(oid) and data_of(oid) read blobs; only regular files are read."""
    pairs = {}
    if not sources or not destinations:
        return pairs
    used = set()
    blobs = _Blobs(size_of, data_of)
    _exact(sources, destinations, used, pairs)
    if len(used) == len(sources) or len(pairs) == len(destinations):
        return pairs
    _by_basename(blobs, sources, destinations, used, pairs, minimum)
    _matrix(blobs, sources, destinations, used, pairs, minimum, limit)
    return pairs


def similarity_percent(score):
    return score * 100 // MAX_SCORE


__all__ = ["find_renames", "span_counts", "blob_spans", "BlobSpans", "copied_bytes", "similarity_percent", "is_binary", "MAX_SCORE",
           "RENAME_LIMIT", "COUNT_UNTERMINATED_TAIL"]
