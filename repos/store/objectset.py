"""Which objects a fetch must send, found by comparing each new commit's tree with its parents'.

A commit's object is skipped when any parent has it at the same path: that parent is either sent
too (and covers it) or already on the client. Objects seen on the client's side of that comparison
are remembered as bases the client has, for thin packs.
"""
from dataclasses import dataclass, field

from .packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TAG, OBJ_TREE
from .trees import MODE_GITLINK, TreeCache, is_tree


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class ObjectFilter:
    """`--filter` specs this server supports: blob:none, blob:limit=N, tree:DEPTH."""
    omit_blobs: bool = False
    blob_limit: int | None = None
    tree_depth: int | None = None

    @classmethod
    def parse(cls, spec):
        if spec is None:
            return None
        if spec == "blob:none":
            return cls(omit_blobs=True)
        if spec.startswith("blob:limit="):
            return cls(blob_limit=_size(spec[len("blob:limit="):]))
        if spec.startswith("tree:"):
            try:
                depth = int(spec[5:])
            except ValueError:
                raise FilterError(f"invalid filter-spec '{spec}'") from None
            if depth < 0:
                raise FilterError(f"invalid filter-spec '{spec}'")
            return cls(tree_depth=depth)
        raise FilterError(f"unsupported filter-spec '{spec}'")

    def by_type_and_size(self):
        """(SQL condition on the objects table, the same test in Python as f(type, size)) when the
        filter depends on type and size alone; None for tree:N with N > 0, which needs depths."""
        if self.tree_depth is not None:
            if self.tree_depth:
                return None
            return "type IN (1, 4)", lambda type_num, size: type_num in (OBJ_COMMIT, OBJ_TAG)
        if self.omit_blobs:
            return "type != 3", lambda type_num, size: type_num != OBJ_BLOB
        if self.blob_limit is not None:
            limit = int(self.blob_limit)
            return (f"(type != 3 OR size < {limit})",
                    lambda type_num, size: type_num != OBJ_BLOB or size < limit)
        return "1", lambda type_num, size: True

    def keeps(self, type_num, depth, size_of):
        """Whether an object reached at tree `depth` (0 = a commit's root tree) is sent."""
        if self.tree_depth is not None and depth >= self.tree_depth:
            return False
        if type_num == OBJ_BLOB:
            if self.omit_blobs:
                return False
            if self.blob_limit is not None and size_of() >= self.blob_limit:
                return False
        return True


def _size(text):
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    try:
        if text and text[-1].lower() in units:
            return int(text[:-1]) * units[text[-1].lower()]
        return int(text)
    except ValueError:
        raise FilterError(f"invalid filter-spec 'blob:limit={text}'") from None


@dataclass
class ObjectSet:
    oids: list = field(default_factory=list)   # in the order found; each at most once
    seen: set = field(default_factory=set)
    client_has: set = field(default_factory=set)

    def add(self, oid):
        if oid not in self.seen:
            self.seen.add(oid)
            self.oids.append(oid)
            return True
        return False


class ObjectEnumerator:
    def __init__(self, store, object_filter=None, want_client_bases=True):
        self.store = store
        self.graph = store.graph
        self.trees = TreeCache(store.reader)
        self.filter = object_filter
        self.want_client_bases = want_client_bases
        self.result = ObjectSet()

    def _keeps(self, type_num, depth, oid):
        if self.filter is None:
            return True
        return self.filter.keeps(type_num, depth, lambda: (self.store.reader.info(oid) or (0, 0))[1])

    def add_commits(self, commits, interesting, grafts=frozenset()):
        """`commits`: the commits to send; `interesting`: the same as a set. A parent outside it is on
        the client (or cut off by a shallow graft, in which case it is not a parent at all)."""
        for oid in commits:
            self.result.add(oid)
        for oid in commits:
            node = self.graph.node(oid)
            parents = () if oid in grafts else node.parents
            parent_trees = []
            for p in parents:
                pnode = self.graph.node(p)
                if pnode is not None:
                    parent_trees.append((pnode.tree, p not in interesting))
            self._add_tree(node.tree, parent_trees, 0)

    def _add_tree(self, tree, parent_trees, depth, force=False):
        """Add `tree` and what it holds that no parent tree (same path) holds."""
        for ptree, on_client in parent_trees:
            if ptree == tree:
                return
        if not force and not self._keeps(OBJ_TREE, depth, tree):
            return
        if not self.result.add(tree):
            return
        parent_entries = []
        for ptree, on_client in parent_trees:
            parent_entries.append((self.trees.entries(ptree), on_client))
            if on_client and self.want_client_bases:
                self.result.client_has.add(ptree)
        for name, (mode, oid) in self.trees.entries(tree).items():
            if mode == MODE_GITLINK:
                continue
            same = False
            sub_parents = []
            for entries, on_client in parent_entries:
                prev = entries.get(name)
                if prev is None:
                    continue
                if prev[1] == oid:
                    same = True
                    break
                if is_tree(prev[0]) and is_tree(mode):
                    sub_parents.append((prev[1], on_client))
                elif on_client and self.want_client_bases:
                    self.result.client_has.add(prev[1])
            if same:
                continue
            if is_tree(mode):
                self._add_tree(oid, sub_parents, depth + 1)
            elif self._keeps(OBJ_BLOB, depth + 1, oid):
                self.result.add(oid)

    def add_explicit(self, oid, type_num):
        """An object the client asked for by id: sent whatever the filter says; a tree's contents
        still go through the filter, counting depth from that tree."""
        if type_num == OBJ_TREE:
            self._add_tree(oid, [], 0, force=True)
        elif type_num in (OBJ_BLOB, OBJ_TAG, OBJ_COMMIT):
            self.result.add(oid)
