"""Diffs for the commit and compare pages and for agents: what changed between two trees, file by
file (renames found as git finds them), with hunks as `git diff` prints them.

- tree_changes: the same entries, in the same order, as `git diff-tree -r -M OLD NEW`.
- diff_trees / commit_diff: per-file hunks (3 lines of context, git's hunk merging and function
  context in the header), stats equal to `git diff --numstat`, binary files and size limits.
- patch_text: the whole thing in git's unified format; split_rows: side-by-side rows of a hunk.

Hunks are built in hunks.py, the unified text in patchtext.py. No Django here.
"""
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from .hunks import Hunk, Line, _common_ends, _hunks, _script, _split, text_hunks
from .patchtext import patch_text
from .renames import find_renames, is_binary, similarity_percent
from .trees import MODE_GITLINK, TreeCache, is_tree

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


__all__ = ["FileChange", "Line", "Hunk", "FilePatch", "Diff", "tree_changes", "diff_trees", "commit_diff",
           "split_rows", "patch_text", "text_hunks", "abbrev_length"]
