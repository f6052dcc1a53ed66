"""Ancestry questions answered from the commit graph snapshot of history.py: merge bases (as
`git merge-base [--all]`), ahead/behind (`git rev-list --left-right --count`) and `git log
base..head`. No Django here."""
import heapq
from array import array

from .history import _array_bytes, _cached, _ids, _order, commit_infos

_P1, _P2, _STALE = 1, 2, 4


def _merge_base_ids(g, a, b):
    """git's paint_down_to_common then remove_redundant, over generation numbers: the best common
    ancestors of a and b, newest committer date first."""
    if a == b:
        return [a]
    gens, times, parents = g.gens, g.times, g.parents
    flags = {a: _P1}
    flags[b] = flags.get(b, 0) | _P2
    heap = []
    queued = {}           # id -> entries in the heap
    nonstale = 0
    seq = 0

    def put(cid):
        nonlocal seq, nonstale
        seq += 1
        heapq.heappush(heap, (-gens[cid], -times[cid], seq, cid))
        queued[cid] = queued.get(cid, 0) + 1
        if not flags[cid] & _STALE:
            nonstale += 1

    put(a)
    put(b)
    found = []
    while nonstale:
        cid = heapq.heappop(heap)[3]
        queued[cid] -= 1
        own = flags[cid]
        if not own & _STALE:
            nonstale -= 1
        f = own & (_P1 | _P2 | _STALE)
        if f == _P1 | _P2:
            if cid not in found:
                found.append(cid)
            f |= _STALE
        for p in parents[cid]:
            old = flags.get(p, 0)
            if old & f == f:
                continue
            flags[p] = old | f
            if f & _STALE and not old & _STALE:
                nonstale -= queued.get(p, 0)
            put(p)
    candidates = sorted((c for c in found if not flags[c] & _STALE), key=lambda c: -times[c])
    return [c for c in candidates if not any(_reaches(g, other, c) for other in candidates if other != c)]


def _reaches(g, start, target):
    """True when `target` is an ancestor of `start` (generation numbers prune the walk)."""
    floor = g.gens[target]
    stack, seen = [start], {start}
    while stack:
        cid = stack.pop()
        if cid == target:
            return True
        for p in g.parents[cid]:
            if p not in seen and g.gens[p] >= floor:
                seen.add(p)
                stack.append(p)
    return False


def merge_bases(store, a, b):
    """`git merge-base --all A B` (oids, newest first; empty when unrelated or unknown)."""
    g, (x, y) = _ids(store, a, b)
    if x is None or y is None:
        return []
    found = _cached(("bases", g.epoch, x, y), lambda: array("i", _merge_base_ids(g, x, y)))
    return [g.oids[c] for c in found]


def merge_base(store, a, b):
    """The merge base `git merge-base A B` prints, or None."""
    found = merge_bases(store, a, b)
    return found[0] if found else None


def _sides(g, base, head):
    """(ids only `head` reaches, count only `base` reaches): both tips painted in generation order,
    stopping once every queued commit is reachable from both."""
    gens, parents = g.gens, g.parents
    flags = {base: _P1}
    flags[head] = flags.get(head, 0) | _P2
    heap = [(-gens[base], base)] + ([(-gens[head], head)] if head != base else [])
    heapq.heapify(heap)
    both = _P1 | _P2
    live = sum(1 for _, cid in heap if flags[cid] != both)
    head_only, behind = [], 0
    while live:
        cid = heapq.heappop(heap)[1]
        f = flags[cid]
        if f != both:
            live -= 1
            if f == _P2:
                head_only.append(cid)
            else:
                behind += 1
        for p in parents[cid]:
            old = flags.get(p)
            if old is None:
                flags[p] = f
                heapq.heappush(heap, (-gens[p], p))
                live += f != both
            elif old | f != old:
                flags[p] = old | f
                live -= old | f == both   # p is still queued: its generation is lower
    return head_only, behind


def _between(g, base, head):
    """Ids of `git log base..head`, in that order, and the number of commits behind."""
    def compute():
        head_only, behind = _sides(g, base, head)
        wanted = set(head_only)
        times, parents = g.times, g.parents
        out = array("i")
        if head in wanted:
            heap, seq = [(-times[head], 0, head)], 0
            seen = {head}
            while heap:
                cid = heapq.heappop(heap)[2]
                out.append(cid)
                for p in parents[cid]:
                    if p in wanted and p not in seen:
                        seen.add(p)
                        seq += 1
                        heapq.heappush(heap, (-times[p], seq, p))
        return out, behind
    return _cached(("between", g.epoch, base, head), compute, weigh=lambda r: _array_bytes(r[0]))


def ahead_behind(store, base, head):
    """(commits in head not in base, commits in base not in head), as
    `git rev-list --left-right --count base...head` gives them the other way round."""
    g, (x, y) = _ids(store, base, head)
    if x is None or y is None:
        return (0, 0)
    ids, behind = _between(g, x, y)
    return len(ids), behind


def commits_between(store, base, head, limit=250):
    """`git log base..head`: at most `limit` commits, in that order."""
    g, (x, y) = _ids(store, base, head)
    if y is None:
        return []
    if x is None:
        ids = _order(g, y)
    else:
        ids = _between(g, x, y)[0]
    return commit_infos(store, [g.oids[i] for i in ids[:max(0, limit)]])
