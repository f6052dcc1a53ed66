"""Blame: the commit that last touched each line of a file, as `git blame --porcelain` answers it.

The walk is git's. Every line of the file starts out suspect for the commit blamed from. A commit
passes its suspect lines to its parents: to the first parent whose version of the file is the same
blob (all of them), else through a line diff with each parent in order (the lines the diff finds
equal go to the first parent that has them); what no parent has is the commit's own. A file absent
from a parent is looked for under another name there (git's rename detection: an identical blob, or
the most similar deleted file). Commits are taken newest first (by generation number, so every child
has passed its lines before its parents are looked at).

What makes it fast is the commit index: `commit_paths` lists the commits whose FIRST parent has
another version of the path. Any other commit, merge or not, hands everything to its first parent
unchanged, so the walk leaps along first-parent chains in one SQL query straight to the next commit
that touched the file; trees are read only there (and for merges' other parents).

Line diffs come from `linediff.diff_lines` (minimal); where several minimal diffs exist, git's
xdiff picks one by sliding each changed block to a canonical place (its "compaction", with the
indent heuristic `git blame` turns on, seeing only what xdi_diff leaves after trimming the common
tail). `_equal_runs` uses the same sliding as diffs (hunks.changed_flags). No Django here.
"""
import heapq
import itertools
import sys
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from .browse import NotFound, _walk
from .hunks import changed_flags
from .packformat import OBJ_BLOB
from .renames import MAX_SCORE, MINIMUM_SCORE, basename, blob_spans, copied_bytes, is_regular
from .trees import MODE_GITLINK, TreeCache, changed_paths, is_tree

BINARY_PROBE = 8000          # git looks for a NUL in this many leading bytes


class BlameTooLarge(ValueError):
    """The file is over the size limit, or binary."""


@dataclass(frozen=True)
class BlameRange:
    commit: bytes          # the commit that introduced these lines
    orig_path: str         # the file's path in that commit (differs after renames)
    orig_start: int        # 1-based line number in that commit's version of the file
    start: int             # 1-based line number in the blamed version
    count: int             # consecutive lines


@dataclass(frozen=True)
class Blame:
    path: str
    commit: bytes          # the commit blamed from
    lines: list[str]       # the file's lines: utf-8 (errors replaced), without "\n" or "\r\n"
    ranges: list[BlameRange]   # cover lines 1..len(lines) in order; adjacent lines from the same
                               # commit and path with contiguous original lines are one range


def blame(store, commit, path, *, max_bytes=1 << 20):
    """Blame `path` (a file or symlink) as of `commit`. Raises NotFound for a missing commit or
    path, a directory or a submodule; BlameTooLarge for a file over `max_bytes` or a binary one."""
    path = path.strip("/")
    mode, oid = _walk(store, commit, path)
    if not path or is_tree(mode) or mode == MODE_GITLINK:
        raise NotFound(path)
    info = store.reader.info(oid)
    if info is None or info[0] != OBJ_BLOB:
        raise NotFound(path)
    if info[1] > max_bytes:
        raise BlameTooLarge(f"{path} is {info[1]} bytes (the limit is {max_bytes})")
    data = store.get(oid)[1]
    if b"\0" in data[:BINARY_PROBE]:
        raise BlameTooLarge(f"{path} is a binary file")
    walk = _Walk(store)
    final = _Origin(commit, path.encode("utf-8", "surrogateescape"), oid, mode)
    final.text = text = walk.text(data)
    guilty = walk.run(final, [(0, 0, len(text.lines))] if text.lines else [])
    return Blame(path, commit, [_display(line) for line in text.lines], _coalesce(guilty))


def blame_parent(store, blame_range):
    """(first parent of the range's commit, the file's path there) for a "blame at the parent"
    link, following a rename as blame does; None for a root commit or a file the parent lacks."""
    node = store.graph.node(blame_range.commit)
    if node is None or not node.parents or store.graph.node(node.parents[0]) is None:
        return None
    parent = node.parents[0]
    walk = _Walk(store)
    raw_path = blame_range.orig_path.encode("utf-8", "surrogateescape")
    entry = walk.lookup(node.tree, raw_path)
    if entry is None or is_tree(entry[0]) or entry[0] == MODE_GITLINK:
        return None
    found = walk.lookup(store.graph.node(parent).tree, raw_path)
    if found is not None and not is_tree(found[0]):
        return (parent, blame_range.orig_path) if found[0] != MODE_GITLINK else None
    renamed = walk.find_rename(parent, blame_range.commit, raw_path, entry[1], entry[0])
    return (parent, _decode(renamed[0])) if renamed else None


def _display(line):
    if line.endswith(b"\n"):            # the mark of an unterminated last line (see _Text)
        line = line[:-1]
    elif line.endswith(b"\r"):          # CRLF
        line = line[:-1]
    return line.decode("utf-8", "replace")


def _decode(raw_path):
    return raw_path.decode("utf-8", "surrogateescape")


class _Origin:
    """A file in a commit and the lines it is still suspected for, as (line in this version, line
    in the blamed version, count); its text is read once and handed on while the blob is the same."""
    __slots__ = ("commit", "path", "blob", "mode", "suspects", "text")

    def __init__(self, commit, path, blob, mode):
        self.commit, self.path, self.blob, self.mode = commit, path, blob, mode
        self.suspects = []
        self.text = None


class _Text:
    """A blob split into lines as git counts them. `lines`: bytes, a terminated line without its
    "\n", an unterminated last line with a "\n" added as a mark (so that it differs from the same
    text terminated, as in git). `codes`: one character per line, equal lines equal characters,
    which rapidfuzz diffs many times faster than a list of bytes."""
    __slots__ = ("data", "lines", "codes")

    def __init__(self, data, line_ids):
        self.data = data
        lines = data.split(b"\n")
        if lines[-1]:
            lines[-1] += b"\n"
        else:
            lines.pop()
        self.lines = lines
        ids = array("I", map(line_ids.__getitem__, lines))
        if len(line_ids) <= 0x10FFFF:
            self.codes = ids.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be",
                                              "surrogatepass")
        else:
            self.codes = ids.tolist()


# Along the first-parent chain from ?1 (itself included), the first commit that touched the path
# (path id ?2), or the chain's end. A bare column beside max() is taken from the row holding the
# maximum (SQLite documents this).
_LEAP = """
WITH RECURSIVE chain(oid, depth) AS (
    SELECT ?1, 0
    UNION ALL
    SELECT substr(c.parents, 1, 20), chain.depth + 1
    FROM chain JOIN commits AS c ON c.oid = chain.oid
    WHERE length(c.parents) >= 20
      AND NOT EXISTS (SELECT 1 FROM commit_paths WHERE path_id = ?2 AND commit_oid = chain.oid)
)
SELECT oid, max(depth) FROM chain
"""


class _LineIds(dict):
    """line -> number, a new number for a line not seen before."""

    def __missing__(self, line):
        self[line] = number = len(self)
        return number


class _Walk:
    def __init__(self, store):
        self.store = store
        self.graph = store.graph
        self.trees = TreeCache(store.reader, max_entries=100_000)
        self.origins = {}        # (commit, path) -> _Origin waiting to be looked at
        self.heap = []
        self.order = itertools.count()
        self.path_ids = {}
        self.line_ids = _LineIds()   # for _Text.codes
        self.guilty = []         # (commit, path, line there, line in the blamed version, count)

    def text(self, data):
        return _Text(data, self.line_ids)

    # -- the walk -------------------------------------------------------------------------------
    def run(self, final, suspects):
        self._queue(final, suspects)
        while self.heap:
            _, _, key = heapq.heappop(self.heap)
            origin = self.origins.pop(key)
            if origin.suspects:
                origin.suspects.sort()
                self._pass_blame(origin)
                self.guilty.extend((origin.commit, origin.path) + s for s in origin.suspects)
        return self.guilty

    def _queue(self, origin, suspects):
        """Hand `suspects` to `origin`, waiting at the first commit of its first-parent chain that
        touched the file (the ones in between have the same blob and pass everything on)."""
        if not suspects:
            return
        commit = self._leap(origin.commit, origin.path)
        key = (commit, origin.path)
        waiting = self.origins.get(key)
        if waiting is None:
            origin.commit = commit
            origin.suspects = list(suspects)
            self.origins[key] = origin
            heapq.heappush(self.heap, (-self.graph.node(commit).generation, next(self.order), key))
        else:
            waiting.suspects.extend(suspects)
            waiting.text = waiting.text or origin.text

    def _leap(self, commit, path):
        path_id = self.path_ids.get(path, -1)
        if path_id == -1:
            row = self.store.con.execute("SELECT id FROM paths WHERE path=?", (path,)).fetchone()
            path_id = self.path_ids[path] = row[0] if row else None
        if path_id is None:
            return commit
        found = self.store.con.execute(_LEAP, (commit, path_id)).fetchone()[0]
        if self.graph.node(found) is None:       # the chain left the store (a shallow history)
            return self._leap_slowly(commit, path_id)
        return found

    def _leap_slowly(self, commit, path_id):
        touched = "SELECT 1 FROM commit_paths WHERE path_id=? AND commit_oid=?"
        while not self.store.con.execute(touched, (path_id, commit)).fetchone():
            parents = self.graph.node(commit).parents
            if not parents or self.graph.node(parents[0]) is None:
                break
            commit = parents[0]
        return commit

    def _pass_blame(self, origin):
        node = self.graph.node(origin.commit)
        parents = [p for p in node.parents if self.graph.node(p) is not None]
        scapegoats = [None] * len(parents)
        for find in (self._same_path, self._renamed):
            for i, parent in enumerate(parents):
                if scapegoats[i] is not None:
                    continue
                found = find(parent, origin)
                if found is None:
                    continue
                if found.blob == origin.blob:          # the parent has this very file: all of it
                    found.text = origin.text
                    self._queue(found, origin.suspects)
                    origin.suspects = []
                    return
                if not any(s is not None and s.blob == found.blob for s in scapegoats[:i]):
                    scapegoats[i] = found
        for parent_origin in scapegoats:
            if parent_origin is None:
                continue
            if parent_origin.text is None:
                parent_origin.text = self.text(self.store.get(parent_origin.blob)[1])
            passed, origin.suspects = _split(origin.suspects, _equal_runs(parent_origin.text, origin.text))
            self._queue(parent_origin, passed)
            if not origin.suspects:
                return

    def _same_path(self, parent, origin):
        entry = self.lookup(self.graph.node(parent).tree, origin.path)
        if entry is None or (entry[0] & 0o170000) != (origin.mode & 0o170000):
            return None                                  # absent, or a type change (git's 'T')
        return _Origin(parent, origin.path, entry[1], entry[0])

    def _renamed(self, parent, origin):
        entry = self.lookup(self.graph.node(parent).tree, origin.path)
        if entry is not None and not is_tree(entry[0]):
            return None                                  # present (type change): not an addition
        found = self.find_rename(parent, origin.commit, origin.path, origin.blob, origin.mode)
        return _Origin(parent, *found) if found else None

    # -- trees and renames ----------------------------------------------------------------------
    def lookup(self, tree, path):
        """(mode, oid) of `path` (bytes) under `tree`, or None."""
        mode, oid = 0o040000, tree
        for name in path.split(b"/"):
            if not is_tree(mode):
                return None
            entry = self.trees.entries(oid).get(name)
            if entry is None:
                return None
            mode, oid = entry
        return mode, oid

    def find_rename(self, parent, commit, path, blob, mode):
        """(path, blob, mode) of the file in `parent` that `commit` renamed to `path` (git diff's
        rename detection with `path` as the only destination), or None."""
        parent_tree, tree = self.graph.node(parent).tree, self.graph.node(commit).tree
        sources = []
        for candidate in sorted(changed_paths(self.trees, parent_tree, tree)):
            old = self.lookup(parent_tree, candidate)
            if old is None or is_tree(old[0]) or old[0] == MODE_GITLINK:
                continue
            new = self.lookup(tree, candidate)
            if new is None or is_tree(new[0]):          # deleted here: a rename source
                sources.append((candidate, old[1], old[0]))
        return _best_rename(self.store, sources, path, blob, mode)


# -- rename detection (diffcore-rename's rules, for one destination) -------------------------------
MIN_SCORE = MINIMUM_SCORE                                      # -M50%
MIN_BASENAME_SCORE = MIN_SCORE + (MAX_SCORE - MIN_SCORE) // 2  # a same-named file: 75%


def _best_rename(store, sources, path, blob, mode):
    if not sources:
        return None
    name = basename(path)
    exact = [s for s in sources if s[1] == blob]
    if exact:       # identical content: a source with the same name first, then path order
        return next((s for s in exact if basename(s[0]) == name), exact[0])
    if not is_regular(mode):
        return None                                  # symlinks are renamed only unchanged
    regular = [s for s in sources if is_regular(s[2])]
    dst_size = store.reader.info(blob)[1]
    dst_chunks = None
    same_name = [s for s in regular if basename(s[0]) == name]
    scored = []
    for source in regular:
        src_size = store.reader.info(source[1])[1]
        big, small = max(src_size, dst_size), min(src_size, dst_size)
        if big == 0 or big * (MAX_SCORE - MIN_SCORE) < (big - small) * MAX_SCORE:
            continue                                 # too different in size to reach 50%
        if dst_chunks is None:
            dst_chunks = _span_counts(store, blob)
        copied = copied_bytes(_span_counts(store, source[1]), dst_chunks)
        scored.append((copied * MAX_SCORE // big, source))
    if len(same_name) == 1:          # git first pairs files that kept their (unique) name
        score = next((sc for sc, s in scored if s is same_name[0]), 0)
        if score >= MIN_BASENAME_SCORE:
            return same_name[0]
    best = None
    for score, source in scored:
        rank = (score, basename(source[0]) == name)
        if score >= MIN_SCORE and (best is None or rank > best[0]):
            best = (rank, source)
    return best[1] if best else None


def _span_counts(store, oid):
    return blob_spans(oid, lambda oid: store.get(oid)[1]).hashed()


# -- passing lines through a diff -----------------------------------------------------------------
def _split(suspects, runs):
    """Suspects of the child (sorted by line) -> (those inside equal runs, moved to the parent's
    line numbers; those outside, kept). runs: [(parent line, child line, length)] in order.
    Pieces are first cut at the runs' edges; then each run takes a slice of them in one step (a
    file blamed through hundreds of commits carries as many pieces, and few runs)."""
    edges = sorted({edge for _, b0, length in runs for edge in (b0, b0 + length)})
    pieces = _cut(suspects, edges)
    starts = [piece[0] for piece in pieces]
    passed, kept = [], []
    done = 0
    for a0, b0, length in runs:
        lo = bisect_left(starts, b0, done)
        hi = bisect_left(starts, b0 + length, lo)
        kept.extend(pieces[done:lo])
        shift = a0 - b0
        passed.extend([(s + shift, lno, count) for s, lno, count in pieces[lo:hi]])
        done = hi
    kept.extend(pieces[done:])
    return passed, kept


def _cut(pieces, edges):
    """Pieces (start, line in the blamed version, count), sorted and disjoint, cut wherever an edge
    falls strictly inside one."""
    starts = [piece[0] for piece in pieces]
    inside = {}
    for edge in edges:
        k = bisect_right(starts, edge) - 1
        if k >= 0 and edge < starts[k] + pieces[k][2] and edge > starts[k]:
            inside.setdefault(k, []).append(edge)
    if not inside:
        return pieces
    out, done = [], 0
    for k in sorted(inside):
        out.extend(pieces[done:k])
        s, lno, count = pieces[k]
        end = s + count
        for edge in inside[k]:
            out.append((s, lno, edge - s))
            lno += edge - s
            s = edge
        out.append((s, lno, end - s))
        done = k + 1
    out.extend(pieces[done:])
    return out


def _coalesce(guilty):
    ranges = []
    for commit, path, s, lno, count in sorted(guilty, key=lambda g: g[3]):
        last = ranges[-1] if ranges else None
        if (last and last[0] == commit and last[1] == path and last[2] + last[4] == s
                and last[3] + last[4] == lno):
            last[4] += count
        else:
            ranges.append([commit, path, s, lno, count])
    return [BlameRange(c, _decode(p), s + 1, lno + 1, n) for c, p, s, lno, n in ranges]


def _equal_runs(parent, child):
    """[(parent line, child line, length)]: the lines git's diff of the two texts leaves unchanged.
    A minimal diff, then the changed blocks slid where xdiff puts them (hunks.changed_flags)."""
    cut = _trimmed_tail_lines(parent.data, child.data)
    n1, n2 = len(parent.lines) - cut, len(child.lines) - cut       # what xdiff sees
    flags1, flags2 = changed_flags(parent.lines[:n1], child.lines[:n2],
                                   keys=(parent.codes[:n1], child.codes[:n2]))
    runs = []
    i1 = i2 = 0
    while True:
        i1, i2 = flags1.find(0, i1), flags2.find(0, i2)
        if i1 < 0 or i2 < 0:
            break
        e1, e2 = flags1.find(1, i1), flags2.find(1, i2)
        length = min((n1 if e1 < 0 else e1) - i1, (n2 if e2 < 0 else e2) - i2)
        runs.append((i1, i2, length))
        i1 += length
        i2 += length
    if cut:
        runs.append((n1, n2, cut))
    return runs


def _trimmed_tail_lines(a, b):
    """How many trailing lines xdi_diff hides from xdiff: the common tail, in 1 KiB blocks, less
    the part of the first hidden line."""
    block, trimmed, smaller = 1024, 0, min(len(a), len(b))
    while trimmed + block <= smaller and \
            a[len(a) - trimmed - block:len(a) - trimmed] == b[len(b) - trimmed - block:len(b) - trimmed]:
        trimmed += block
    if not trimmed:
        return 0
    start = len(a) - trimmed
    newline = a.find(b"\n", start)
    if newline < 0:
        return 0
    tail = a[newline + 1:]
    return tail.count(b"\n") + (1 if tail and not tail.endswith(b"\n") else 0)
