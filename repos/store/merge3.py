"""Line-level three-way merge of one file, with the rules of git's xdiff merge (xdl_merge at the
"zealous" level git's merges use), written from a reading of its documentation and behaviour:

- base->ours and base->theirs edit scripts (hunks of changed lines, linediff.diff_lines);
- walking both scripts in base order, a hunk of one side that ends strictly before the next
  hunk of the other side begins is taken as it is; hunks that overlap OR touch (one ends where
  the other begins) form a conflict region, unless both sides made the identical change;
- a conflict region whose two resulting texts are identical is clean after all (the zealous
  level compares the texts, not the hunks); otherwise it is refined: the two texts are diffed and
  only the differing parts stay conflicts, conflicts fewer than four lines apart joined again;
- the result is ours' lines with theirs' clean hunks spliced in, conflicts written with markers
  (<<<<<<< ours-label / ======= / >>>>>>> theirs-label; a missing final newline is added inside
  a conflict, as git does).

Binary files (a NUL in the first 8000 bytes of any side) are not merged line by line: they
conflict, the result being ours (or, inside a virtual merge base, the base).
No Django here.
"""
from dataclasses import dataclass

from .linediff import diff_lines, split_lines
from .renames import is_binary

MARKER_SIZE = 7

_SIDE1, _SIDE2, _CONFLICT, _SAME = 1, 2, 0, 4


@dataclass(slots=True)
class _Region:
    """xdl's merge entry: base lines [i0, i0+chg0), ours [i1, i1+chg1), theirs [i2, i2+chg2)."""
    mode: int
    i0: int
    chg0: int
    i1: int
    chg1: int
    i2: int
    chg2: int


@dataclass(frozen=True)
class FileMerge:
    clean: bool
    data: bytes          # the merged text; with conflict markers when not clean


def _hunks(a, b):
    """[(i1, chg1, i2, chg2)]: the changed runs of a minimal edit script a -> b, compacted as
    xdiff compacts them (without the indent heuristic) before it merges."""
    ops = diff_lines(a, b)
    changes = [op for op in ops if op.tag == "change"]
    if not changes:
        return []
    # Compaction only moves a group whose first and last lines repeat next to it; most edits
    # have none, and the compaction walk is per line.
    slide_a = _slidable(a, [(op.a0, op.a1) for op in changes])
    slide_b = _slidable(b, [(op.b0, op.b1) for op in changes])
    if not slide_a and not slide_b:
        return [(op.a0, op.a1 - op.a0, op.b0, op.b1 - op.b0) for op in changes]
    # changed flags with a sentinel on each end (index 0 and n+1), as xdiff keeps them
    ca = bytearray(len(a) + 2)
    cb = bytearray(len(b) + 2)
    for op in changes:
        ca[op.a0 + 1:op.a1 + 1] = b"\1" * (op.a1 - op.a0)
        cb[op.b0 + 1:op.b1 + 1] = b"\1" * (op.b1 - op.b0)
    if slide_a:
        _compact(a, ca, cb)
    if slide_b:
        _compact(b, cb, ca)
    hunks = []
    i = j = 1
    n, m = len(a), len(b)
    while i <= n or j <= m:
        if ca[i] or cb[j]:
            i0, j0 = i, j
            while i <= n and ca[i]:
                i += 1
            while j <= m and cb[j]:
                j += 1
            hunks.append((i0 - 1, i - i0, j0 - 1, j - j0))
        else:                              # equal lines pair up: jump to the next change
            next_a = ca.find(1, i, n + 1)
            next_b = cb.find(1, j, m + 1)
            step = min(n + 1 if next_a < 0 else next_a, (m + 1 if next_b < 0 else next_b) - j + i) - i
            i += max(step, 1)
            j += max(step, 1)
    return hunks


def _slidable(lines, groups):
    """Whether some non-empty group [start, end) of changed lines could slide up or down."""
    n = len(lines)
    for start, end in groups:
        if start == end:
            continue
        if end < n and lines[start] == lines[end]:
            return True
        if start > 0 and lines[start - 1] == lines[end - 1]:
            return True
    return False


def _compact(lines, rchg, other):
    """xdl_change_compact on one side: every group of changed lines is slid up as far as it can
    go (joining groups above it), then down as far as it can go; it ends at its lowest place
    unless on the way it lined up with a change of the other side, where it goes back to."""
    n = len(lines)
    no = len(other) - 2

    def slide_down(g):
        s, e = g
        if e <= n and lines[s - 1] == lines[e - 1]:
            rchg[s] = 0
            rchg[e] = 1
            s += 1
            e += 1
            while rchg[e]:
                e += 1
            g[0], g[1] = s, e
            return True
        return False

    def slide_up(g):
        s, e = g
        if s > 1 and lines[s - 2] == lines[e - 2]:
            s -= 1
            e -= 1
            rchg[s] = 1
            rchg[e] = 0
            while rchg[s - 1]:
                s -= 1
            g[0], g[1] = s, e
            return True
        return False

    def next_group(g, flags, count):
        if g[1] == count + 1:
            return False
        s = g[1] + 1
        e = s
        while flags[e]:
            e += 1
        g[0], g[1] = s, e
        return True

    def previous_group(g, flags):
        if g[0] == 1:
            return False
        e = g[0] - 1
        s = e
        while flags[s - 1]:
            s -= 1
        g[0], g[1] = s, e
        return True

    g = [1, 1]
    while rchg[g[1]]:
        g[1] += 1
    go = [1, 1]
    while other[go[1]]:
        go[1] += 1
    while True:
        if g[1] != g[0]:
            while True:
                size = g[1] - g[0]
                matching_other = -1
                while slide_up(g):
                    previous_group(go, other)
                earliest_end = g[1]
                if go[1] > go[0]:
                    matching_other = g[1]
                while slide_down(g):
                    next_group(go, other, no)
                    if go[1] > go[0]:
                        matching_other = g[1]
                if size == g[1] - g[0]:
                    break
            if g[1] != earliest_end and matching_other != -1:
                while go[1] == go[0]:
                    slide_up(g)
                    previous_group(go, other)
        if not next_group(g, rchg, n):
            break
        next_group(go, other, no)


def _append(regions, mode, i0, chg0, i1, chg1, i2, chg2):
    """xdl_append_merge: a region touching the previous one (in ours or theirs) joins it, and
    becomes a conflict if the two came from different sides."""
    if regions:
        m = regions[-1]
        if i1 <= m.i1 + m.chg1 or i2 <= m.i2 + m.chg2:
            if mode != m.mode:
                m.mode = _CONFLICT
            m.chg0 = i0 + chg0 - m.i0
            m.chg1 = i1 + chg1 - m.i1
            m.chg2 = i2 + chg2 - m.i2
            return
    regions.append(_Region(mode, i0, chg0, i1, chg1, i2, chg2))


def _regions(base, ours, theirs, h1, h2):
    regions = []
    x = y = 0
    while x < len(h1) and y < len(h2):
        a0, ac0, a1, ac1 = h1[x]
        b0, bc0, b2, bc2 = h2[y]
        if a0 + ac0 < b0:
            _append(regions, _SIDE1, a0, ac0, a1, ac1, b2 - b0 + a0, ac0)
            x += 1
            continue
        if b0 + bc0 < a0:
            _append(regions, _SIDE2, b0, bc0, a1 - a0 + b0, bc0, b2, bc2)
            y += 1
            continue
        if a0 != b0 or ac0 != bc0 or ac1 != bc2 or ours[a1:a1 + ac1] != theirs[b2:b2 + bc2]:
            off = a0 - b0
            ffo = off + ac0 - bc0
            i0, i1, i2 = a0, a1, b2
            if off > 0:
                i0 -= off
                i1 -= off
            else:
                i2 += off
            chg0 = a0 + ac0 - i0
            chg1 = a1 + ac1 - i1
            chg2 = b2 + bc2 - i2
            if ffo < 0:
                chg0 -= ffo
                chg1 -= ffo
            else:
                chg2 += ffo
            _append(regions, _CONFLICT, i0, chg0, i1, chg1, i2, chg2)
        end1, end2 = a0 + ac0, b0 + bc0
        if end1 >= end2:
            y += 1
        if end2 >= end1:
            x += 1
    grow1 = len(ours) - len(base)
    grow2 = len(theirs) - len(base)
    for a0, ac0, a1, ac1 in h1[x:]:
        _append(regions, _SIDE1, a0, ac0, a1, ac1, a0 + grow2, ac0)
    for b0, bc0, b2, bc2 in h2[y:]:
        _append(regions, _SIDE2, b0, bc0, b0 + grow1, bc0, b2, bc2)
    return regions


def _refine(regions, ours, theirs):
    """xdl_refine_conflicts: a conflict whose two texts are equal is clean; otherwise only the
    parts of the two texts that differ stay conflicts."""
    out = []
    for m in regions:
        if m.mode != _CONFLICT or m.chg1 == 0 or m.chg2 == 0:
            out.append(m)
            continue
        t1 = ours[m.i1:m.i1 + m.chg1]
        t2 = theirs[m.i2:m.i2 + m.chg2]
        inner = _hunks(t1, t2)
        if not inner:
            m.mode = _SAME
            out.append(m)
            continue
        for j, (a0, ac, b0, bc) in enumerate(inner):
            # base coordinates are no longer meaningful once split; keep the first region's
            out.append(_Region(_CONFLICT, m.i0, m.chg0 if j == 0 else 0, m.i1 + a0, ac, m.i2 + b0, bc))
    return out


def _simplify(regions):
    """xdl_simplify_non_conflicts (zealous level): conflicts at most three lines apart join."""
    out = []
    for m in regions:
        if out:
            prev = out[-1]
            if prev.mode == _CONFLICT and m.mode == _CONFLICT and m.i1 - (prev.i1 + prev.chg1) <= 3:
                prev.chg0 = m.i0 + m.chg0 - prev.i0
                prev.chg1 = m.i1 + m.chg1 - prev.i1
                prev.chg2 = m.i2 + m.chg2 - prev.i2
                continue
        out.append(m)
    return out


def _copy(lines, start, count, add_newline):
    part = lines[start:start + count]
    if add_newline and part and not part[-1].endswith(b"\n"):
        part = part[:-1] + [part[-1] + b"\n"]
    return part


def merge_lines(base, ours, theirs, *, ours_label=b"ours", theirs_label=b"theirs", marker_size=MARKER_SIZE):
    """Lists of lines (split_lines) -> (clean, merged lines)."""
    h1 = _hunks(base, ours)
    h2 = _hunks(base, theirs)
    if not h1:
        return True, list(theirs)
    if not h2:
        return True, list(ours)
    regions = _simplify(_refine(_regions(base, ours, theirs, h1, h2), ours, theirs))
    out = []
    clean = True
    i = 0
    for m in regions:
        if m.mode == _CONFLICT:
            clean = False
            out += ours[i:m.i1]
            out.append(b"<" * marker_size + (b" " + ours_label if ours_label else b"") + b"\n")
            out += _copy(ours, m.i1, m.chg1, True)
            out.append(b"=" * marker_size + b"\n")
            out += _copy(theirs, m.i2, m.chg2, True)
            out.append(b">" * marker_size + (b" " + theirs_label if theirs_label else b"") + b"\n")
        elif m.mode & (_SIDE1 | _SIDE2):
            out += ours[i:m.i1]
            if m.mode & _SIDE1:
                out += _copy(ours, m.i1, m.chg1, bool(m.mode & _SIDE2))
            if m.mode & _SIDE2:
                out += theirs[m.i2:m.i2 + m.chg2]
        else:
            continue
        i = m.i1 + m.chg1
    out += ours[i:]
    return clean, out


def merge_file(base, ours, theirs, *, ours_label=b"ours", theirs_label=b"theirs",
               marker_size=MARKER_SIZE, virtual_base=False):
    """Three blobs' bytes (base may be b"" for add/add) -> FileMerge."""
    if ours == theirs:
        return FileMerge(True, ours)
    if base == ours:
        return FileMerge(True, theirs)
    if base == theirs:
        return FileMerge(True, ours)
    if is_binary(base) or is_binary(ours) or is_binary(theirs):
        return FileMerge(False, base if virtual_base else ours)
    clean, lines = merge_lines(split_lines(base), split_lines(ours), split_lines(theirs),
                              ours_label=ours_label, theirs_label=theirs_label, marker_size=marker_size)
    return FileMerge(clean, b"".join(lines))


__all__ = ["MARKER_SIZE", "FileMerge", "merge_file", "merge_lines"]
