"""Hunks as `git diff` prints them, from a minimal line diff.

Where several minimal scripts exist, git's choice is approached the way git itself settles it:
after its Myers pass, xdiff slides each group of added or deleted lines as far as it can, aligns it
with a change on the other side when it can, else places it where the indentation heuristic scores
best; the same is done here on linediff's script (xdl_change_compact, re-implemented from its
description). Then 3 lines of context, git's hunk merging and git's default function context in
the header. No Django here.
"""
from dataclasses import dataclass

from .linediff import diff_lines


@dataclass(frozen=True, slots=True)
class Line:
    kind: str              # " " context, "-" deleted, "+" added
    old_no: int | None
    new_no: int | None
    text: str              # without its newline, utf-8 decoded with errors="replace"
    no_newline: bool       # "\ No newline at end of file" follows this line


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str           # git's function context (text after the second @@), or ""
    lines: list

    @property
    def header(self):
        old = f"{self.old_start}" if self.old_count == 1 else f"{self.old_start},{self.old_count}"
        new = f"{self.new_start}" if self.new_count == 1 else f"{self.new_start},{self.new_count}"
        return f"@@ -{old} +{new} @@" + (f" {self.section}" if self.section else "")


def _indent(line):
    """xdiff's get_indent: columns of leading blanks (tab = to the next multiple of 8), capped
    at 200; -1 for a line of whitespace only (CR, LF, VT and FF are skipped, as XDL_ISSPACE)."""
    columns = 0
    for c in line:
        if c == 32:
            columns += 1
        elif c == 9:
            columns += 8 - columns % 8
        elif c not in (10, 13, 11, 12):
            return columns
        if columns >= 200:
            return 200
    return -1


def _split_score(lines, indents, split):
    """(effective indent, penalty) of cutting `lines` just above `split` (xdiff's weights)."""
    n = len(lines)

    def indent(i):
        value = indents.get(i)
        if value is None:
            value = indents[i] = _indent(lines[i])
        return value

    end_of_file = split >= n
    here = -1 if end_of_file else indent(split)
    pre_blank, pre_indent = 0, -1
    for i in range(split - 1, -1, -1):
        pre_indent = indent(i)
        if pre_indent != -1:
            break
        pre_blank += 1
        if pre_blank == 20:
            pre_indent = 0
            break
    post_blank, post_indent = 0, -1
    for i in range(split + 1, n):
        post_indent = indent(i)
        if post_indent != -1:
            break
        post_blank += 1
        if post_blank == 20:
            post_indent = 0
            break
    penalty = 0
    if pre_indent == -1 and pre_blank == 0:
        penalty += 1                                  # start of file
    if end_of_file:
        penalty += 21
    blanks_after = 1 + post_blank if here == -1 else 0
    total_blank = pre_blank + blanks_after
    penalty += -30 * total_blank + 6 * blanks_after
    effective = here if here != -1 else post_indent
    if effective != -1 and pre_indent != -1:
        if effective > pre_indent:
            penalty += 10 if total_blank else -4
        elif effective < pre_indent:
            if post_indent != -1 and post_indent > effective:
                penalty += 17 if total_blank else 24
            else:
                penalty += 17 if total_blank else 23
    return effective, penalty


def _compact(lines, flags, other_flags):
    """xdl_change_compact on `flags` (1 = changed line of `lines`), given the other side's flags.
    Unchanged lines of both sides pair up in order, so a group here faces a change on the other
    side exactly when the other side has a group of the same rank (count of unchanged lines
    before it)."""
    n = len(lines)
    facing_change = _groups(other_flags).__contains__
    indents = {}
    pos = rank = 0
    while True:
        start = flags.find(1, pos)
        if start < 0:
            return
        rank += start - pos
        end = flags.find(0, start)
        end = n if end < 0 else end

        def up():
            nonlocal start, end, rank
            if start > 0 and lines[start - 1] == lines[end - 1]:
                start -= 1
                end -= 1
                flags[start], flags[end] = 1, 0
                while start > 0 and flags[start - 1]:
                    start -= 1
                rank -= 1
                return True
            return False

        def down():
            nonlocal start, end, rank
            if end < n and lines[start] == lines[end]:
                flags[start], flags[end] = 0, 1
                start += 1
                end += 1
                while end < n and flags[end]:
                    end += 1
                rank += 1
                return True
            return False

        while True:
            size = end - start
            aligned_end = -1
            while up():
                pass
            earliest_end = end
            if facing_change(rank):
                aligned_end = end
            while down():
                if facing_change(rank):
                    aligned_end = end
            if size == end - start:
                break
        if end == earliest_end:
            pass
        elif aligned_end != -1:
            while not facing_change(rank):
                up()
        else:
            best_shift, best = -1, None
            for shift in range(max(earliest_end, end - size - 1, end - 100), end + 1):
                a_indent, a_penalty = _split_score(lines, indents, shift)
                b_indent, b_penalty = _split_score(lines, indents, shift - size)
                score = (a_indent + b_indent, a_penalty + b_penalty)
                if best is None or 60 * ((score[0] > best[0]) - (score[0] < best[0])) + score[1] - best[1] <= 0:
                    best_shift, best = shift, score
            while end > best_shift:
                up()
        pos = end


def _groups(flags):
    """{rank: (start, end)} of the runs of changed lines."""
    groups = {}
    pos = rank = 0
    n = len(flags)
    while True:
        start = flags.find(1, pos)
        if start < 0:
            return groups
        rank += start - pos
        end = flags.find(0, start)
        end = n if end < 0 else end
        groups[rank] = (start, end)
        pos = end


def _equal_run(a, b, size):
    """The largest k <= size with a[:k] == b[:k], found by halving: each test is one list
    comparison in C, where a line-by-line loop would run in Python over the whole file."""
    low, high = 0, size
    while low < high:
        mid = (low + high + 1) // 2
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_ends(a, b):
    """(lines equal at the start, lines equal at the end, not overlapping)."""
    head = _equal_run(a, b, min(len(a), len(b)))
    size = min(len(a), len(b)) - head
    tail = _equal_run(a[::-1], b[::-1], size) if size else 0
    return head, tail


def changed_flags(a, b, keys=None):
    """(flags of a, flags of b): bytearrays with 1 for each line git's diff reports changed, after
    xdiff's compaction. `keys`: optional sequences equal where the lines are (e.g. one character
    per distinct line), which the LCS compares much faster than lists of bytes."""
    flags_a, flags_b = bytearray(len(a)), bytearray(len(b))
    head, tail = _common_ends(a, b)
    if head == len(a) == len(b):
        return flags_a, flags_b
    ka, kb = keys or (a, b)
    middle_a, middle_b = ka[head:len(a) - tail], kb[head:len(b) - tail]
    if middle_a and middle_b:
        for op in diff_lines(middle_a, middle_b):
            if op.tag == "change":
                flags_a[head + op.a0:head + op.a1] = b"\1" * (op.a1 - op.a0)
                flags_b[head + op.b0:head + op.b1] = b"\1" * (op.b1 - op.b0)
    else:
        flags_a[head:len(a) - tail] = b"\1" * len(middle_a)
        flags_b[head:len(b) - tail] = b"\1" * len(middle_b)
    _compact(a, flags_a, flags_b)
    _compact(b, flags_b, flags_a)
    return flags_a, flags_b


def _script(a, b):
    """[(old index, old count, new index, new count)] of the changes from lines a to lines b."""
    if not a or not b:
        return [(0, len(a), 0, len(b))] if a or b else []
    flags_a, flags_b = changed_flags(a, b)
    groups_a, groups_b = _groups(flags_a), _groups(flags_b)
    changes = []
    before_a = before_b = 0                           # changed lines of groups already passed
    for rank in sorted(groups_a.keys() | groups_b.keys()):
        s1, e1 = groups_a.get(rank) or (rank + before_a,) * 2
        s2, e2 = groups_b.get(rank) or (rank + before_b,) * 2
        changes.append((s1, e1 - s1, s2, e2 - s2))
        before_a += e1 - s1
        before_b += e2 - s2
    return changes


def _function_line(line):
    """git's default funcname rule: a line starting with a letter, '_' or '$', cut to 80 bytes
    and stripped of trailing blanks. git then cuts the hunk header before the first byte that is
    not valid UTF-8 (a character split by the cut, or a non-UTF-8 file)."""
    first = line[:1]
    if not first or not (first.isalpha() or first in b"_$"):
        return None
    text = line[:80].rstrip(b" \t\r\n")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as error:
        decoded = text[:error.start].decode("utf-8")
    for bad in ("\ufffe", "\uffff"):      # git refuses these two as well
        decoded = decoded.split(bad, 1)[0]
    return decoded


def _split(data):
    """Lines as git splits them (at '\n' only), each WITHOUT its newline, in one C call. A last
    line that lacks the newline keeps a '\n' as a marker instead: no other line can hold one,
    so it never equals a complete line of the same text, as git compares them."""
    lines = data.split(b"\n")
    if lines[-1]:
        lines[-1] += b"\n"
    else:
        lines.pop()
    return lines


def _line(kind, old_no, new_no, raw):
    if raw.endswith(b"\n"):
        return Line(kind, old_no, new_no, raw[:-1].decode("utf-8", "replace"), True)
    return Line(kind, old_no, new_no, raw.decode("utf-8", "replace"), False)


def _hunks(a, b, changes, context):
    """Changes grouped into hunks as xdiff does: two changes share a hunk when at most
    2*context unchanged lines separate them."""
    hunks = []
    section, searched_to = "", -1
    i = 0
    while i < len(changes):
        j = i
        while j + 1 < len(changes) and changes[j + 1][0] - (changes[j][0] + changes[j][1]) <= 2 * context:
            j += 1
        first, last = changes[i], changes[j]
        s1, s2 = max(first[0] - context, 0), max(first[2] - context, 0)
        tail = min(context, len(a) - (last[0] + last[1]), len(b) - (last[2] + last[3]))
        e1, e2 = last[0] + last[1] + tail, last[2] + last[3] + tail
        for k in range(s1 - 1, searched_to, -1):  # nearest function line above the hunk
            found = _function_line(a[k])
            if found is not None:
                section = found
                break
        searched_to = s1 - 1
        lines = []
        o, p = s1, s2
        for i1, c1, i2, c2 in changes[i:j + 1]:
            while p < i2:
                lines.append(_line(" ", o + 1, p + 1, b[p]))
                o, p = o + 1, p + 1
            lines.extend(_line("-", k + 1, None, a[k]) for k in range(i1, i1 + c1))
            lines.extend(_line("+", None, k + 1, b[k]) for k in range(i2, i2 + c2))
            o, p = i1 + c1, i2 + c2
        while p < e2:
            lines.append(_line(" ", o + 1, p + 1, b[p]))
            o, p = o + 1, p + 1
        hunks.append(Hunk(s1 + 1 if e1 > s1 else s1, e1 - s1, s2 + 1 if e2 > s2 else s2, e2 - s2, section, lines))
        i = j + 1
    return hunks


def text_hunks(old, new, *, context=3):
    """Hunks between two texts (bytes), as `git diff` shows them; for callers diffing blobs
    outside a tree diff."""
    a, b = _split(old), _split(new)
    return _hunks(a, b, _script(a, b), context)
