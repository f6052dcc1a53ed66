"""The commit graph from the commit index: no object is inflated to walk history.

Generation numbers (1 + the largest of the parents') let every walk stop as soon as the answer is
known: a commit of generation g cannot have an ancestor of generation >= g.
"""
import heapq
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommitNode:
    oid: bytes
    tree: bytes
    parents: tuple
    generation: int
    time: int  # committer time


def split_parents(blob):
    return tuple(blob[i:i + 20] for i in range(0, len(blob), 20))


class CommitGraph:
    def __init__(self, con):
        self.con = con
        self._nodes = {}

    def node(self, oid):
        """The indexed commit, or None when `oid` is not a known commit."""
        node = self._nodes.get(oid)
        if node is None:
            row = self.con.execute(
                "SELECT tree, parents, generation, committer_time FROM commits WHERE oid=?", (oid,)
            ).fetchone()
            if row is None:
                return None
            node = CommitNode(oid, row[0], split_parents(row[1]), row[2], row[3])
            if len(self._nodes) > 200000:
                self._nodes.clear()
            self._nodes[oid] = node
        return node

    def parents(self, oid, grafts=()):
        if oid in grafts:
            return ()
        node = self.node(oid)
        return node.parents if node else ()

    def is_ancestor(self, ancestor, descendant):
        """True when `ancestor` is reachable from `descendant` (or equal)."""
        target = self.node(ancestor)
        start = self.node(descendant)
        if target is None or start is None:
            return False
        seen = {descendant}
        stack = [start]
        while stack:
            node = stack.pop()
            if node.oid == ancestor:
                return True
            for p in node.parents:
                if p not in seen:
                    seen.add(p)
                    pn = self.node(p)
                    if pn is not None and pn.generation >= target.generation:
                        stack.append(pn)
        return False

    def walk_excluding(self, include, exclude, grafts=frozenset()):
        """Commits reachable from `include` but not from `exclude` (git rev-list A --not B), newest
        generation first. Commits in `grafts` are treated as having no parents (shallow boundaries)."""
        heap = []
        flags = {}  # oid -> True when uninteresting
        interesting_queued = 0
        for oid in exclude:
            if self.node(oid) is not None and not flags.get(oid):
                flags[oid] = True
                heapq.heappush(heap, (-self.node(oid).generation, oid))
        for oid in include:
            if oid not in flags and self.node(oid) is not None:
                flags[oid] = False
                interesting_queued += 1
                heapq.heappush(heap, (-self.node(oid).generation, oid))
        result = []
        popped = set()
        while heap and interesting_queued:
            _, oid = heapq.heappop(heap)
            if oid in popped:
                continue
            popped.add(oid)
            uninteresting = flags[oid]
            if not uninteresting:
                interesting_queued -= 1
                result.append(oid)
            for p in self.parents(oid, grafts):
                pnode = self.node(p)
                if pnode is None:
                    continue
                old = flags.get(p)
                if old is None:
                    flags[p] = uninteresting
                    if not uninteresting:
                        interesting_queued += 1
                    heapq.heappush(heap, (-pnode.generation, p))
                elif uninteresting and old is False and p not in popped:
                    flags[p] = True
                    interesting_queued -= 1
        return result
