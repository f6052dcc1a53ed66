"""Diffs for the commit and compare pages and for agents: what changed between two trees, file by
file (renames found as git finds them), with hunks as `git diff` prints them.

- tree_changes: the same entries, in the same order, as `git diff-tree -r -M OLD NEW`.
- diff_trees / commit_diff: per-file hunks (3 lines of context, git's hunk merging and function
  context in the header), stats equal to `git diff --numstat`, binary files and size limits.
- patch_text: the whole thing in git's unified format; split_rows: side-by-side rows of a hunk.

Line diffs come from linediff.diff_lines (a minimal script). Where several minimal scripts exist,
git's choice is approached the way git itself settles it: after its Myers pass, xdiff slides each
group of added or deleted lines as far as it can, aligns it with a change on the other side when
it can, else places it where the indentation heuristic scores best; the same is done here on our
script (xdl_change_compact, re-implemented from its description). No Django here.
"""
from dataclasses import dataclass
from rapidfuzz.distance import Indel

from .linediff import diff_lines
from .packformat import ZERO_OID
from .renames import find_renames, is_binary, similarity_percent
from .trees import MODE_GITLINK, TreeCache, is_tree

EMPTY_BLOB = bytes.fromhex("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
# Files over max_file_bytes still get line counts when both sides are at most this many times the
# limit and the differing middles are small enough for a bit-parallel LCS (a few tens of ms).
_STATS_SIZE_FACTOR = 8
_STATS_CELLS = 1_000_000_000


# --- results -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileChange:
    status: str            # "A", "M", "D", "R" (rename), "T" (type change: file <-> symlink etc.)
    old_path: str | None   # utf-8 with surrogateescape; None for "A"
    new_path: str | None   # None for "D"
    old_mode: int
    new_mode: int          # 0 when absent
    old_oid: bytes | None
    new_oid: bytes | None
    similarity: int        # percent, for "R" (100 for exact renames); 0 otherwise

    @property
    def path(self):
        return self.new_path or self.old_path


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


@dataclass(frozen=True)
class FilePatch:
    change: FileChange
    binary: bool           # a NUL byte in the first 8000 bytes of either side
    added: int
    deleted: int           # lines, as `git diff --numstat` counts them (binary: 0, 0)
    hunks: list            # for "T": the old file deleted, then the new one added, as git shows it
    cut: str | None        # why hunks were left out, else None


@dataclass(frozen=True)
class Diff:
    files: list
    added: int
    deleted: int
    changed_files: int     # totals over ALL changed files, shown or not
    cut: str | None        # set when the file list itself was cut
    abbrev: int = 7        # hex digits of the index lines git would print for this repository


# --- which files changed -------------------------------------------------------------------------

def _canonical(mode):
    """git reads modes canonically (100664 is 100644)."""
    kind = mode & 0o170000
    if kind == 0o100000:
        return 0o100755 if mode & 0o100 else 0o100644
    return kind


def _leaf_changes(trees, old, new):
    """[(path bytes, (mode, oid) or None, (mode, oid) or None)] for every non-tree entry that
    differs, descending only into subtrees that differ, sorted by path bytes (git's order: a
    directory sorts as its name plus '/', which byte order of the full paths gives)."""
    found = []
    pending = [(old, new, b"")]
    while pending:
        old, new, prefix = pending.pop()
        if old == new:
            continue
        old_entries = trees.entries(old) if old else {}
        new_entries = trees.entries(new) if new else {}
        for name in {name for name, _ in new_entries.items() ^ old_entries.items()}:
            a, b = old_entries.get(name), new_entries.get(name)
            a_tree = a is not None and is_tree(a[0])
            b_tree = b is not None and is_tree(b[0])
            if a_tree or b_tree:
                pending.append((a[1] if a_tree else None, b[1] if b_tree else None, prefix + name + b"/"))
            a = (_canonical(a[0]), a[1]) if a is not None and not a_tree else None
            b = (_canonical(b[0]), b[1]) if b is not None and not b_tree else None
            if (a or b) and a != b:
                found.append((prefix + name, a, b))
    found.sort(key=lambda item: item[0])
    return found


def _decode_path(raw):
    return raw.decode("utf-8", "surrogateescape")


def tree_changes(store, old_tree, new_tree, *, renames=True, rename_limit=None):
    """[FileChange] between two trees (old_tree None: the empty tree), as `git diff-tree -r -M`
    lists them: files only, by path, a gitlink (submodule) as one entry, a rename at its new path."""
    leaves = _leaf_changes(TreeCache(store.reader), old_tree, new_tree)
    pairs = {}
    if renames:
        deleted = [(path,) + old for path, old, new in leaves if new is None]
        added = [(path,) + new for path, old, new in leaves if old is None]
        if deleted and added:
            limit = {} if rename_limit is None else {"limit": rename_limit}
            found = find_renames(deleted, added, lambda oid: store.reader.info(oid)[1],
                                 lambda oid: store.get(oid)[1], **limit)
            pairs = {added[d][0]: deleted[s] + (similarity_percent(score),) for d, (s, score) in found.items()}
    used = {source[0] for source in pairs.values()}
    changes = []
    for path, old, new in leaves:
        if new is None:
            if path not in used:
                changes.append(FileChange("D", _decode_path(path), None, old[0], 0, old[1], None, 0))
        elif old is None:
            source = pairs.get(path)
            if source is None:
                changes.append(FileChange("A", None, _decode_path(path), 0, new[0], None, new[1], 0))
            else:
                src_path, src_mode, src_oid, percent = source
                changes.append(FileChange("R", _decode_path(src_path), _decode_path(path), src_mode, new[0],
                                          src_oid, new[1], percent))
        else:
            status = "T" if (old[0] ^ new[0]) & 0o170000 else "M"
            name = _decode_path(path)
            changes.append(FileChange(status, name, name, old[0], new[0], old[1], new[1], 0))
    return changes


# --- hunks: git's placement of ambiguous changes, then grouping with context ----------------------

def _indent(line):
    """xdiff's get_indent: columns of leading blanks (tab = to the next multiple of 8), capped
    at 200; -1 for a line of blanks only."""
    columns = 0
    for c in line:
        if c == 32:
            columns += 1
        elif c == 9:
            columns += 8 - columns % 8
        elif c not in (10, 13):
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


def _script(a, b):
    """[(old index, old count, new index, new count)] of the changes from lines a to lines b."""
    if not a or not b:
        return [(0, len(a), 0, len(b))] if a or b else []
    head, tail = _common_ends(a, b)
    if head == len(a) == len(b):
        return []
    flags_a, flags_b = bytearray(len(a)), bytearray(len(b))
    middle_a, middle_b = a[head:len(a) - tail], b[head:len(b) - tail]
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


def _count(a, b, max_cells=None):
    """(added, deleted) lines of a minimal diff, without building the script; None when the
    differing middles are larger than max_cells (their product) allows."""
    head, tail = _common_ends(a, b)
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    if not mid_a or not mid_b:
        return len(mid_b), len(mid_a)
    if max_cells is not None and len(mid_a) * len(mid_b) > max_cells:
        return None
    distance = Indel.distance(mid_a, mid_b)
    return (distance + len(mid_b) - len(mid_a)) // 2, (distance + len(mid_a) - len(mid_b)) // 2


# --- whole diffs -----------------------------------------------------------------------------------

def _size(store, mode, oid):
    if oid is None:
        return 0
    if mode == MODE_GITLINK:
        return len(b"Subproject commit \n") + 40
    info = store.reader.info(oid)
    return info[1] if info else 0


def _content(store, mode, oid):
    if oid is None:
        return b""
    if mode == MODE_GITLINK:
        return b"Subproject commit %s\n" % oid.hex().encode()
    return store.get(oid)[1]


class _Budget:
    def __init__(self, max_lines):
        self.left = max_lines
        self.max_lines = max_lines
        self.spent = False      # once a file could not be shown whole, no later file is shown


def _file_patch(store, change, context, max_file_bytes, budget, show):
    largest = max(_size(store, change.old_mode, change.old_oid), _size(store, change.new_mode, change.new_oid))
    too_large = f"file too large to diff ({largest:,} bytes)"
    if largest > _STATS_SIZE_FACTOR * max_file_bytes:
        return FilePatch(change, False, 0, 0, [], too_large + "; line counts not computed")
    old = _content(store, change.old_mode, change.old_oid)
    new = _content(store, change.new_mode, change.new_oid)
    old_binary, new_binary = is_binary(old), is_binary(new)
    binary = old_binary or new_binary

    def patch(counts, hunks=(), cut=None):
        return FilePatch(change, binary, *((0, 0) if binary else counts), list(hunks), cut)

    if binary and change.status != "T":
        return patch((0, 0))
    a, b = _split(old), _split(new)
    if largest > max_file_bytes:
        counts = (0, 0) if binary else _count(a, b, _STATS_CELLS)
        return patch(counts, cut=too_large) if counts else patch((0, 0), cut=too_large + "; line counts not computed")
    if change.old_oid == change.new_oid and change.status != "T":
        return patch((0, 0))
    if not show or budget.spent:
        counts = (0, 0) if binary else _count(a, b)
        return patch(counts, cut=f"diff not shown: the whole diff is over {budget.max_lines:,} lines"
                     if show and (sum(counts) or change.status == "T") else None)
    if change.status == "T":           # git shows the old file deleted, then the new one added
        counts = (0, 0) if binary else _count(a, b)
        hunks = ([] if old_binary else _hunks(a, [], _script(a, []), context)) + \
                ([] if new_binary else _hunks([], b, _script([], b), context))
    else:
        script = _script(a, b)
        counts = sum(c[3] for c in script), sum(c[1] for c in script)
        hunks = _hunks(a, b, script, context)
    total = sum(len(h.lines) for h in hunks)
    if total <= budget.left:
        budget.left -= total
        return patch(counts, hunks)
    budget.spent = True
    shown, kept = 0, []
    for hunk in hunks:
        if shown + len(hunk.lines) > budget.left:
            break
        kept.append(hunk)
        shown += len(hunk.lines)
    budget.left -= shown
    return patch(counts, kept, f"diff of {total:,} lines shown up to {shown:,}" if kept
                 else f"diff of {total:,} lines not shown: the whole diff is over {budget.max_lines:,} lines")


def abbrev_length(store):
    """The object-id abbreviation git picks for a repository of this size (core.abbrev auto):
    half the bits of the object count, rounded up to hex digits, at least 7. (git also lengthens
    an abbreviation that would be ambiguous; that is not checked here.)"""
    count = store.con.execute("SELECT coalesce(sum(object_count), 0) FROM packs").fetchone()[0]
    return max(7, (count.bit_length() + 1) // 2)


def diff_trees(store, old_tree, new_tree, *, context=3, max_files=300, max_lines=20000,
               max_file_bytes=1 << 20, renames=True):
    """Diff between two trees (old_tree None: the empty tree). Every changed file is counted;
    the first max_files get a FilePatch; hunks stop once max_lines lines have been shown."""
    changes = tree_changes(store, old_tree, new_tree, renames=renames)
    budget = _Budget(max_lines)
    files, added, deleted = [], 0, 0
    for index, change in enumerate(changes):
        patch = _file_patch(store, change, context, max_file_bytes, budget, index < max_files)
        added += patch.added
        deleted += patch.deleted
        if index < max_files:
            files.append(patch)
    cut = f"Showing {max_files:,} of {len(changes):,} changed files" if len(changes) > max_files else None
    return Diff(files, added, deleted, len(changes), cut, abbrev_length(store))


def commit_diff(store, commit_oid, **limits):
    """A commit against its first parent; a root commit against the empty tree (as `git show`)."""
    node = store.graph.node(commit_oid)
    if node is None:
        raise KeyError(commit_oid.hex())
    parent = store.graph.node(node.parents[0]).tree if node.parents else None
    return diff_trees(store, parent, node.tree, **limits)


def split_rows(hunk):
    """Side-by-side rows [(old line or None, new line or None)]: context on both sides, a run of
    deletions paired line by line with the run of additions that follows it."""
    rows = []
    deleted, added = [], []

    def flush():
        for k in range(max(len(deleted), len(added))):
            rows.append((deleted[k] if k < len(deleted) else None, added[k] if k < len(added) else None))
        deleted.clear()
        added.clear()

    for line in hunk.lines:
        if line.kind == "-":
            if added:
                flush()
            deleted.append(line)
        elif line.kind == "+":
            added.append(line)
        else:
            flush()
            rows.append((line, line))
    flush()
    return rows


# --- git's unified format --------------------------------------------------------------------------

_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}


def _quoted(prefix, path):
    """A path as git prints it in headers (core.quotePath): C-quoted when it holds a control
    character, a quote, a backslash or a non-ASCII byte."""
    raw = prefix.encode() + path.encode("utf-8", "surrogateescape")
    if not any(c < 32 or c >= 127 or c in (34, 92) for c in raw):
        return raw.decode()
    parts = ['"']
    for c in raw:
        if c in _ESCAPES:
            parts.append("\\" + _ESCAPES[c])
        elif c < 32 or c >= 127:
            parts.append(f"\\{c:03o}")
        else:
            parts.append(chr(c))
    parts.append('"')
    return "".join(parts)


def _hunk_text(out, hunks):
    for hunk in hunks:
        out.append(hunk.header + "\n")
        for line in hunk.lines:
            out.append(line.kind + line.text + "\n")
            if line.no_newline:
                out.append("\\ No newline at end of file\n")


def _section(out, old_path, new_path, old_mode, new_mode, old_oid, new_oid, hunks, *, binary=False,
             similarity=None, cut=None, abbrev=7):
    a_name, b_name = old_path or new_path, new_path or old_path
    out.append(f"diff --git {_quoted('a/', a_name)} {_quoted('b/', b_name)}\n")
    if old_path is None:
        out.append(f"new file mode {new_mode:06o}\n")
    elif new_path is None:
        out.append(f"deleted file mode {old_mode:06o}\n")
    elif old_mode != new_mode:
        out.append(f"old mode {old_mode:06o}\nnew mode {new_mode:06o}\n")
    if similarity is not None:
        out.append(f"similarity index {similarity}%\nrename from {_quoted('', old_path)}\n"
                   f"rename to {_quoted('', new_path)}\n")
    old_oid, new_oid = old_oid or ZERO_OID, new_oid or ZERO_OID
    if old_oid != new_oid:
        mode = f" {old_mode:06o}" if old_mode == new_mode else ""
        out.append(f"index {old_oid.hex()[:abbrev]}..{new_oid.hex()[:abbrev]}{mode}\n")
    old_label = _quoted("a/", old_path) if old_path is not None else "/dev/null"
    new_label = _quoted("b/", new_path) if new_path is not None else "/dev/null"
    if binary and old_oid != new_oid:
        out.append(f"Binary files {old_label} and {new_label} differ\n")
    elif hunks:
        # git ends a name holding a space with a tab (as diff -u does), so that tools can tell
        # where the name stops.
        out.append(f"--- {old_label}{chr(9) if old_path and ' ' in old_path else ''}\n")
        out.append(f"+++ {new_label}{chr(9) if new_path and ' ' in new_path else ''}\n")
        _hunk_text(out, hunks)
    if cut:
        out.append(f"# {cut}\n")


def patch_text(diff, *, abbrev=None):
    """The diff as `git diff -M` prints it (a/ b/ prefixes, abbreviated index lines). Files or
    hunks the limits left out are marked with a line starting with '# '."""
    abbrev = abbrev or diff.abbrev
    out = []
    for fp in diff.files:
        c = fp.change
        if c.status == "T":
            # As git: the old file deleted, then the new one created (their own binary checks).
            gone = [h for h in fp.hunks if h.new_count == 0 and h.new_start == 0]
            made = [h for h in fp.hunks if h.old_count == 0 and h.old_start == 0]
            old_binary = fp.binary and not gone and c.old_oid != EMPTY_BLOB and not fp.cut
            new_binary = fp.binary and not made and c.new_oid != EMPTY_BLOB and not fp.cut
            _section(out, c.old_path, None, c.old_mode, 0, c.old_oid, None, gone, binary=old_binary, abbrev=abbrev)
            _section(out, None, c.new_path, 0, c.new_mode, None, c.new_oid, made, binary=new_binary, cut=fp.cut,
                     abbrev=abbrev)
            continue
        _section(out, c.old_path, c.new_path, c.old_mode, c.new_mode, c.old_oid, c.new_oid, fp.hunks,
                 binary=fp.binary, similarity=c.similarity if c.status == "R" else None, cut=fp.cut,
                 abbrev=abbrev)
    if diff.cut:
        out.append(f"# {diff.cut}\n")
    return "".join(out)


__all__ = ["FileChange", "Line", "Hunk", "FilePatch", "Diff", "tree_changes", "diff_trees", "commit_diff",
           "split_rows", "patch_text", "abbrev_length", "text_hunks"]
