"""Trees: parsing, and comparing two trees without descending into subtrees they share."""
import re

from .packformat import OBJ_TREE

MODE_TREE = 0o040000
MODE_GITLINK = 0o160000


def is_tree(mode):
    return mode & 0o170000 == MODE_TREE


# One tree entry: octal mode, space, name, NUL, 20-byte oid. Parsing with a regular expression keeps
# the per-entry work in C: every tree of every push is checked.
_ENTRY = re.compile(rb"([0-7]+) ([^\0]*)\0(.{20})", re.S)
# A whole well-formed tree: only the modes git writes, names without '/' that are not '.' or '..',
# nothing left over.
_WELL_FORMED = re.compile(
    rb"(?:(?:40000|100644|100755|120000|160000|100664) (?!\.\.?\0)[^\0/]+\0.{20})*", re.S)
_MODES = {b"40000": MODE_TREE, b"100644": 0o100644, b"100755": 0o100755, b"120000": 0o120000,
          b"160000": MODE_GITLINK, b"100664": 0o100664}
_BAD_NAMES = frozenset({b".", b"..", b".git"})


def tree_entries(raw):
    """-> [(mode, name, oid)] with the mode as an int, in tree order."""
    return [(_MODES.get(mode) or int(mode, 8), name, oid) for mode, name, oid in _ENTRY.findall(raw)]


def tree_mapping(raw):
    """name -> (mode, oid), in tree order."""
    return {name: (mode, oid) for mode, name, oid in tree_entries(raw)}


def check_tree_py(raw):
    """What `git fsck` refuses in a tree (bad modes, bad names, duplicates, wrong order).
    -> (mapping name -> (mode, oid), [oids of the entries that must exist]). Raises ValueError.
    The reference: _speedups.c does the same four times faster, and is used when built."""
    if not _WELL_FORMED.fullmatch(raw):
        raise ValueError("malformed tree (bad mode, empty name, '.', '..', '/' in a name, or truncated)")
    entries = _ENTRY.findall(raw)
    mapping = {name: (_MODES[mode], oid) for mode, name, oid in entries}
    if len(mapping) != len(entries):
        raise ValueError("duplicate tree entries")
    keys = [name + b"/" if mode == b"40000" else name for mode, name, _ in entries]
    if keys != sorted(keys):
        raise ValueError("tree entries not sorted")
    if b".git\0" in raw.lower() and {name.lower() for name in mapping} & _BAD_NAMES:
        raise ValueError("bad entry name ('.git')")
    return mapping, [oid for mode, _, oid in entries if mode != b"160000"]


class TreeCache:
    """Parsed trees (name -> (mode, oid)) by oid; trees repeat a lot across neighbouring commits.
    `known`: trees the caller parsed already (a push's new ones). What is read here is bounded by
    the entries held (about 100 bytes each), so a walk over a huge repository re-reads trees
    rather than growing without end."""

    def __init__(self, reader, max_entries=400_000, known=None):
        self.reader = reader
        self.max_entries = max_entries
        self.known = known or {}
        self.items = {}
        self.held = 0

    def entries(self, oid):
        got = self.known.get(oid) or self.items.get(oid)
        if got is None:
            type_num, raw = self.reader.get(oid)
            if type_num != OBJ_TREE:
                raise ValueError(f"{oid.hex()} is not a tree")
            got = tree_mapping(raw)
            if self.held + len(got) > self.max_entries:
                self.items.clear()
                self.held = 0
            self.items[oid] = got
            self.held += len(got)
        return got


def changed_paths(trees, old, new):
    """The file paths (bytes, in no particular order) that differ between trees `old` and `new`
    (either may be None), descending only into subtrees that differ."""
    return _changed_paths(trees.entries, old, new)


def changed_paths_py(entries_of, old, new):
    """changed_paths over `entries_of(oid)` -> parsed tree; the reference for the C twin."""
    paths = []
    pending = [(old, new, b"")]
    while pending:
        old, new, prefix = pending.pop()
        if old == new:
            continue
        old_entries = entries_of(old) if old else {}
        new_entries = entries_of(new) if new else {}
        # The symmetric difference of the item views runs in C; neighbouring trees share most entries.
        for name in {name for name, _ in new_entries.items() ^ old_entries.items()}:
            a = old_entries.get(name)
            b = new_entries.get(name)
            a_tree = a is not None and is_tree(a[0])
            b_tree = b is not None and is_tree(b[0])
            if a_tree or b_tree:
                pending.append((a[1] if a_tree else None, b[1] if b_tree else None, prefix + name + b"/"))
            if (a is not None and not a_tree) or (b is not None and not b_tree):
                paths.append(prefix + name)
    return paths


try:
    # Built by `make setup` (repos/store/build_native.py): the same answers, several times faster.
    from ._speedups import changed_paths as _changed_paths
    from ._speedups import check_tree
    NATIVE_SPEEDUPS = True
except ImportError:
    check_tree = check_tree_py
    _changed_paths = changed_paths_py
    NATIVE_SPEEDUPS = False
