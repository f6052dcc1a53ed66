"""Trees: parsing, and comparing two trees without descending into subtrees they share."""
from binascii import unhexlify

from dulwich._objects import parse_tree as _parse_tree

from .packformat import OBJ_TREE

MODE_TREE = 0o040000
MODE_GITLINK = 0o160000


def parse_tree(raw):
    """-> list of (name, mode, oid) with 20-byte oids, in tree order."""
    return [(name, mode, unhexlify(hexsha)) for name, mode, hexsha in _parse_tree(raw, 20)]


def is_tree(mode):
    return mode & 0o170000 == MODE_TREE


class TreeCache:
    """Parsed trees by oid; trees repeat a lot across neighbouring commits."""

    def __init__(self, reader, max_items=20000):
        self.reader = reader
        self.max_items = max_items
        self.items = {}

    def entries(self, oid):
        got = self.items.get(oid)
        if got is None:
            type_num, raw = self.reader.get(oid)
            if type_num != OBJ_TREE:
                raise ValueError(f"{oid.hex()} is not a tree")
            got = parse_tree(raw)
            if len(self.items) >= self.max_items:
                self.items.clear()
            self.items[oid] = got
        return got


def changed_paths(trees, old, new, prefix=b""):
    """Yield the file paths (bytes) that differ between trees `old` and `new` (either may be None)."""
    if old == new:
        return
    old_entries = {name: (mode, oid) for name, mode, oid in trees.entries(old)} if old else {}
    new_entries = {name: (mode, oid) for name, mode, oid in trees.entries(new)} if new else {}
    for name in sorted(old_entries.keys() | new_entries.keys()):
        a = old_entries.get(name)
        b = new_entries.get(name)
        if a == b:
            continue
        path = prefix + name
        a_tree = a is not None and is_tree(a[0])
        b_tree = b is not None and is_tree(b[0])
        if a_tree or b_tree:
            yield from changed_paths(trees, a[1] if a_tree else None, b[1] if b_tree else None, path + b"/")
        if (a is not None and not a_tree) or (b is not None and not b_tree):
            yield path
