"""History from the commit index, in git's own orders: log pages (whole history, a path's history with
git's TREESAME simplification, a file's history across renames as `git log --follow`), commit counts,
merge bases, ahead/behind and `base..head`.

Nothing here reads a commit object. Walks run over a process-wide snapshot of the commit graph (one
query loads every (oid, parents, committer time, generation) row of a store; later pushes are added
to it). Answers addressed by commit ids never change, so they are kept in a bounded LRU. Which commits
touch a path comes from `commit_paths`, which is relative to the FIRST parent: a merge's other parents
are checked by looking the path up in their trees. lastcommit.py holds the answers that need more of
the trees: the last commit of each tree entry, and a file's history across renames and copies.
"""
import base64
import heapq
import itertools
import struct
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from .packformat import OBJ_TREE
from .trees import MODE_TREE, is_tree, tree_mapping

# Memory held per process, at most (about): commit graph snapshots of all stores (~300 bytes a
# commit; a single store larger than this is still served, alone), cached answers, commit rows and
# parsed trees. The sizes given to the caches are estimates in bytes.
MAX_GRAPH_NODES = 200_000
MAX_CACHED_BYTES = 64 << 20
MAX_INFO_BYTES = 16 << 20
MAX_TREE_BYTES = 32 << 20
_BATCH = 500                     # oids per `IN (...)` query


# -- commit rows ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CommitInfo:
    """One row of the commits table (times in seconds, time zones in minutes east of UTC)."""
    oid: bytes
    tree: bytes
    parents: tuple[bytes, ...]
    author_name: str
    author_email: str
    author_time: int
    author_tz: int
    committer_name: str
    committer_email: str
    committer_time: int
    committer_tz: int
    message: str

    @property
    def hex(self):
        return self.oid.hex()

    @property
    def short(self):
        return self.oid.hex()[:7]

    @property
    def summary(self):
        return self.message.split("\n", 1)[0]

    @property
    def body(self):
        parts = self.message.split("\n", 1)
        return parts[1].strip() if len(parts) > 1 else ""


_INFO_COLUMNS = ("oid, tree, parents, author_name, author_email, author_time, author_tz,"
                 " committer_name, committer_email, committer_time, committer_tz, message")


def _info(row):
    blob = row[2]
    return CommitInfo(row[0], row[1], tuple(blob[i:i + 20] for i in range(0, len(blob), 20)), *row[3:])


def commit_info(store, oid):
    """The indexed commit `oid`, or None."""
    found = commit_infos(store, [oid])
    return found[0] if found else None


def commit_infos(store, oids):
    """CommitInfo of each of `oids` that is an indexed commit, in the order given (unknown ids are
    left out). Rows come in batched queries and are cached."""
    found = {}
    missing = []
    for oid in oids:
        info = _INFOS.get((store.path, oid))
        if info is None:
            missing.append(oid)
        else:
            found[oid] = info
    missing = list(dict.fromkeys(missing))
    for start in range(0, len(missing), _BATCH):
        batch = missing[start:start + _BATCH]
        for row in store.con.execute(
                f"SELECT {_INFO_COLUMNS} FROM commits WHERE oid IN ({','.join('?' * len(batch))})", batch):
            info = _info(row)
            found[info.oid] = info
            _INFOS.put((store.path, info.oid), info, 400 + len(info.message))
    return [found[oid] for oid in oids if oid in found]


# -- caches --------------------------------------------------------------------------------------

class _LRU:
    """A thread-safe LRU bounded by the summed weight of its values."""

    def __init__(self, max_weight):
        self.max_weight = max_weight
        self.items = OrderedDict()
        self.weight = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            item = self.items.get(key)
            if item is None:
                return None
            self.items.move_to_end(key)
            return item[0]

    def put(self, key, value, weight):
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            self.items[key] = (value, weight)
            self.weight += weight
            while self.weight > self.max_weight and len(self.items) > 1:
                _, (_, dropped) = self.items.popitem(last=False)
                self.weight -= dropped
        return value

    def clear(self):
        with self.lock:
            self.items.clear()
            self.weight = 0


_RESULTS = _LRU(MAX_CACHED_BYTES)
_INFOS = _LRU(MAX_INFO_BYTES)


def _array_bytes(ids):
    return 64 + 4 * len(ids)


def _small(_):
    return 64


def _cached(key, compute, weigh=_array_bytes):
    """The cached answer for `key`, computed (and kept, weighing `weigh(answer)` bytes) if need be."""
    hit = _RESULTS.get(key)
    if hit is None:
        hit = compute()
        _RESULTS.put(key, hit, weigh(hit))
    return hit


def clear_caches():
    """Forget every snapshot and cached answer (tests and benchmarks measure cold calls with it)."""
    from . import lastcommit, renames
    for cache in (_RESULTS, _INFOS, _TREES, lastcommit._SIZES):
        cache.clear()
    renames.clear_span_cache()
    with _GRAPHS_LOCK:
        _GRAPHS.clear()


# -- the graph snapshot --------------------------------------------------------------------------

_EPOCHS = itertools.count(1)
_GRAPHS = OrderedDict()  # store path -> _Graph
_GRAPHS_LOCK = threading.Lock()


class _Graph:
    """The commits of one store as parallel arrays over small integer ids, for fast walks. Only grows:
    an id, once given, never changes, so results keyed by (epoch, id) stay valid; a commit is added
    only together with its ancestors, so everything reachable from a known commit is known."""

    def __init__(self):
        self.epoch = next(_EPOCHS)
        self.index = {}        # oid -> id
        self.oids = []
        self.parents = []      # tuples of ids (parents missing from the index are left out)
        self.times = []        # committer time
        self.gens = []
        self.lock = threading.Lock()

    def _add(self, rows):
        """Append rows (oid, parents blob, time, generation); ids are published last, so a
        concurrent reader never meets an id whose arrays are not filled yet."""
        base = len(self.oids)
        new = {row[0]: base + i for i, row in enumerate(rows)}
        index = self.index
        for oid, blob, time, gen in rows:
            ids = []
            for k in range(0, len(blob), 20):
                parent = blob[k:k + 20]
                pid = index.get(parent)
                if pid is None:
                    pid = new.get(parent)
                if pid is not None:
                    ids.append(pid)
            self.parents.append(tuple(ids))
            self.times.append(time)
            self.gens.append(gen)
            self.oids.append(oid)
        index.update(new)

    def load_missing(self, con, wanted):
        """Add `wanted` commits and their unknown ancestors: a few targeted queries after a small
        push, one scan of the table for a first load or a long new history."""
        with self.lock:
            frontier = [oid for oid in dict.fromkeys(wanted) if oid not in self.index]
            if not frontier:
                return
            rows, asked = {}, set()
            rounds = 0 if self.oids else 8
            while frontier and rounds < 8:
                rounds += 1
                asked.update(frontier)
                more = []
                for start in range(0, len(frontier), _BATCH):
                    batch = frontier[start:start + _BATCH]
                    for row in con.execute(
                            "SELECT oid, parents, committer_time, generation FROM commits"
                            f" WHERE oid IN ({','.join('?' * len(batch))})", batch):
                        rows[row[0]] = row
                        blob = row[1]
                        more += [blob[k:k + 20] for k in range(0, len(blob), 20)]
                frontier = [oid for oid in dict.fromkeys(more)
                            if oid not in self.index and oid not in rows and oid not in asked]
            if frontier:
                rows = {row[0]: row for row in con.execute(
                    "SELECT oid, parents, committer_time, generation FROM commits") if row[0] not in self.index}
            self._add(list(rows.values()))


def _graph(store, *oids):
    """The snapshot for `store`, holding `oids` (those that are indexed commits)."""
    with _GRAPHS_LOCK:
        g = _GRAPHS.get(store.path)
        if g is None:
            g = _GRAPHS[store.path] = _Graph()
        _GRAPHS.move_to_end(store.path)
    if any(oid not in g.index for oid in oids):
        g.load_missing(store.con, oids)
        with _GRAPHS_LOCK:
            total = sum(len(other.oids) for other in _GRAPHS.values())
            while total > MAX_GRAPH_NODES and len(_GRAPHS) > 1:
                _, dropped = _GRAPHS.popitem(last=False)
                total -= len(dropped.oids)
    return g


def _commit_id(store, g, oid):
    """The snapshot id of commit `oid` (an annotated tag is peeled), or None."""
    cid = g.index.get(oid)
    if cid is None and oid is not None:
        try:
            peeled = store.reader.peel(oid)
        except ValueError:  # a broken tag chain
            return None
        if peeled != oid:
            g.load_missing(store.con, [peeled])
            cid = g.index.get(peeled)
    return cid


def _ids(store, *oids):
    g = _graph(store, *oids)
    return g, [_commit_id(store, g, oid) for oid in oids]


# -- whole history -------------------------------------------------------------------------------

def _date_order(g, tip):
    """`git rev-list TIP`: repeatedly take the newest commit (committer date; ties in the order
    they were queued) and queue its unseen parents in order."""
    times, parents = g.times, g.parents
    out = array("i")
    seen = {tip}
    heap = []
    seq = 0
    current = tip
    while True:
        out.append(current)
        nxt = None
        for p in parents[current]:
            if p in seen:
                continue
            seen.add(p)
            seq += 1
            # The usual linear case: the parent would come straight back out of the queue.
            if nxt is None and (not heap or times[p] > -heap[0][0]) and len(parents[current]) == 1:
                nxt = p
            else:
                heapq.heappush(heap, (-times[p], seq, p))
        if nxt is not None:
            current = nxt
        elif heap:
            current = heapq.heappop(heap)[2]
        else:
            return out


def _order(g, tip):
    return _cached(("order", g.epoch, tip), lambda: _date_order(g, tip))


def log_order(store, tip):
    """The commits of `git rev-list TIP`, in that order (a tuple of oids; empty for an unknown tip)."""
    g, (cid,) = _ids(store, tip)
    if cid is None:
        return ()
    return tuple(map(g.oids.__getitem__, _order(g, cid)))


def count_commits(store, tip):
    """`git rev-list --count TIP`."""
    g, (cid,) = _ids(store, tip)
    return 0 if cid is None else len(_order(g, cid))


# -- paths ---------------------------------------------------------------------------------------

def _path_bytes(path):
    return "/".join(p for p in (path or "").split("/") if p).encode("utf-8", "surrogateescape")


def _touching(store, g, path):
    """Ids of the commits whose first-parent diff touches `path` (the file, or anything below it).
    Valid for every commit the snapshot held when it was computed."""
    key = ("touch", g.epoch, path)
    hit = _RESULTS.get(key)
    if hit is not None and hit[0] == len(g.oids):
        return hit[1]
    held = len(g.oids)
    rows = store.con.execute(
        "SELECT cp.commit_oid FROM paths p JOIN commit_paths cp ON cp.path_id = p.id"
        " WHERE p.path = ? OR (p.path >= ? AND p.path < ?)", (path, path + b"/", path + b"0"))
    get = g.index.get
    ids = frozenset(cid for cid in (get(row[0]) for row in rows) if cid is not None)
    _RESULTS.put(key, (held, ids), 64 + 32 * len(ids))
    return ids


_TREES = _LRU(MAX_TREE_BYTES)   # tree oid -> {name: (mode, oid)}


class _Trees:
    """Parsed trees, shared by all calls: a tree id names the same tree in every store."""

    def __init__(self, store):
        self.reader = store.reader

    def entries(self, oid):
        got = _TREES.get(oid)
        if got is None:
            type_num, raw = self.reader.get(oid)
            if type_num != OBJ_TREE:
                raise ValueError(f"{oid.hex()} is not a tree")
            got = _TREES.put(oid, tree_mapping(raw), 64 + 150 * raw.count(b"\0"))
        return got


def _lookup(trees, tree, parts):
    """(mode, oid) at `parts` below `tree`, or None."""
    mode, oid = MODE_TREE, tree
    for name in parts:
        if not is_tree(mode):
            return None
        got = trees.entries(oid).get(name)
        if got is None:
            return None
        mode, oid = got
    return mode, oid


def _tree_of(store, g, cid):
    return store.graph.node(g.oids[cid]).tree


def _treesame_parent(store, g, trees, commit, parents, parts):
    """For a merge that differs from its first parent at `parts`: the first other parent it is
    TREESAME to there (git follows only that one and hides the merge), or None."""
    mine = _lookup(trees, _tree_of(store, g, commit), parts)
    for p in parents[1:]:
        if _lookup(trees, _tree_of(store, g, p), parts) == mine:
            return p
    return None


def _path_order(store, g, tip, path):
    """`git log TIP -- PATH` with git's default history simplification: a commit TREESAME to a
    parent follows only that parent and is not shown; other commits show and follow all parents."""
    touching = _touching(store, g, path)
    parts = path.split(b"/")
    trees = _Trees(store)
    times, parents = g.times, g.parents
    out = array("i")
    seen = {tip}
    heap = []
    seq = 0
    commit = tip
    while True:
        ps = parents[commit]
        if commit not in touching:
            follow = ps[:1]            # TREESAME to the first parent (or a root without the path)
        elif len(ps) < 2:
            out.append(commit)
            follow = ps
        else:
            same = _treesame_parent(store, g, trees, commit, ps, parts)
            if same is None:
                out.append(commit)
                follow = ps
            else:
                follow = (same,)
        commit = None
        for p in follow:
            if p not in seen:
                seen.add(p)
                seq += 1
                if commit is None and len(follow) == 1 and (not heap or times[p] > -heap[0][0]):
                    commit = p         # it would come straight back out of the queue
                else:
                    heapq.heappush(heap, (-times[p], seq, p))
        if commit is None:
            if not heap:
                return out
            commit = heapq.heappop(heap)[2]


def _is_file_history(store, g, tip, path):
    """--follow applies to a single file: not a directory at the tip (nor, when the path is gone
    at the tip, a directory anywhere in the index)."""
    entry = _lookup(_Trees(store), _tree_of(store, g, tip), path.split(b"/"))
    if entry is not None:
        return not is_tree(entry[0])
    below = store.con.execute("SELECT 1 FROM paths WHERE path >= ? AND path < ? LIMIT 1",
                              (path + b"/", path + b"0")).fetchone()
    return below is None


def _history(store, g, tip, path, follow):
    if not path:
        return _order(g, tip)
    if follow and _cached(("is-file", g.epoch, tip, path), lambda: _is_file_history(store, g, tip, path), _small):
        from .lastcommit import follow_order  # it imports this module
        return _cached(("follow", g.epoch, tip, path), lambda: follow_order(store, g, tip, path))
    return _cached(("path", g.epoch, tip, path), lambda: _path_order(store, g, tip, path))


def _by_author(store, g, ids, needle):
    """The ids whose author "Name <email>" contains `needle`, case-insensitively."""
    oids = g.oids
    matching = set()
    if len(ids) > 2000:
        rows = store.con.execute("SELECT oid, author_name, author_email FROM commits")
    else:
        wanted = [oids[i] for i in ids]
        rows = itertools.chain.from_iterable(
            store.con.execute("SELECT oid, author_name, author_email FROM commits"
                              f" WHERE oid IN ({','.join('?' * len(batch))})", batch)
            for batch in (wanted[k:k + _BATCH] for k in range(0, len(wanted), _BATCH)))
    for oid, name, email in rows:
        if needle in f"{name} <{email}>".lower():
            matching.add(oid)
    return array("i", (i for i in ids if oids[i] in matching))


# -- log pages -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogPage:
    commits: list[CommitInfo]
    page: int
    has_next: bool
    next_cursor: str | None


def _encode_cursor(position, oid):
    return base64.urlsafe_b64encode(struct.pack(">I", position) + oid[:6]).rstrip(b"=").decode()


def _decode_cursor(cursor, oids, ids):
    """The position a cursor stands for in `ids`, or None when it does not belong to this list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position, prefix = struct.unpack(">I", raw[:4])[0], raw[4:]
    except (ValueError, struct.error):
        return None
    if len(prefix) != 6 or not 0 < position <= len(ids):
        return None
    return position if oids[ids[position - 1]].startswith(prefix) else None


def log_page(store, tip, *, path="", page=1, per_page=30, cursor=None, author=None, follow=True):
    """One page of `git log TIP [-- PATH]` (see the module doc for the orders). `author`: a
    case-insensitive substring of the author's "Name <email>". `cursor`: a page's next_cursor,
    which continues right after it (a cursor of another listing is ignored: `page` is used)."""
    per_page = max(1, int(per_page))
    g, (cid,) = _ids(store, tip)
    if cid is None:
        return LogPage([], 1, False, None)
    path = _path_bytes(path)
    ids = _history(store, g, cid, path, follow)
    if author:
        needle = author.lower()
        ids = _cached(("author", g.epoch, cid, path, follow, needle), lambda: _by_author(store, g, ids, needle))
    start = None
    if cursor:
        start = _decode_cursor(cursor, g.oids, ids)
    if start is None:
        start = (max(1, int(page)) - 1) * per_page
    chunk = [g.oids[i] for i in ids[start:start + per_page]]
    has_next = start + per_page < len(ids)
    return LogPage(commit_infos(store, chunk), start // per_page + 1, has_next,
                   _encode_cursor(start + per_page, chunk[-1]) if has_next else None)


# -- last commit per tree entry (lastcommit.py) --------------------------------------------------

def last_commits(store, commit, dir_path, names):
    """{name: CommitInfo} for entries `names` of the tree at `dir_path` in `commit`: the commit
    `git log -1 COMMIT -- dir_path/name` shows. See lastcommit.py."""
    from .lastcommit import last_commits as compute
    return compute(store, commit, dir_path, names)


_ANCESTRY = ("merge_bases", "merge_base", "ahead_behind", "commits_between")


def __getattr__(name):
    """Merge bases and ahead/behind live in ancestry.py (which builds on this module, so they are
    looked up when first asked for); history is where callers find them."""
    if name in _ANCESTRY:
        from . import ancestry
        return getattr(ancestry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CommitInfo", "LogPage", "commit_info", "commit_infos", "log_order", "count_commits", "log_page",
           "last_commits", "clear_caches", *_ANCESTRY]
