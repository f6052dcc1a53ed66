"""Per-path answers that need trees: the last commit of each entry of a tree listing, and a file's
history across renames and copies (`git log --follow`).

Last commits: for `dir/name`, the commit that `git log -1 COMMIT -- dir/name` shows (for a directory,
the latest commit touching anything in it). One walk serves every entry at once. git walks each
path's history separately, newest committer date first, and simplifies it: a commit TREESAME to a
parent (for that path) follows only that parent. The walks of all entries are the same walk until a
merge makes entries follow different parents; the group of entries is split there, each part
carrying on with its own copy of the walk. An entry leaves its group at its first commit that is not
TREESAME: that is its answer. Which entries a commit touches comes from `commit_paths` (relative to
the first parent); merges that touch an entry are checked against their other parents in the trees.
Answers are cached per (commit, directory).

--follow: where a commit adds the file, git's rename and copy detection (with --find-copies-harder)
names the file it came from; reproduced below, exact matches and git's similarity estimate alike.
"""
import heapq
from array import array

from .history import (_BATCH, _LRU, _RESULTS, _cached, _ids, _lookup, _order, _path_bytes, _touching, _tree_of,
                      _Trees, commit_infos)
from .packformat import OBJ_BLOB
from .patchtext import EMPTY_BLOB
from .renames import MAX_SCORE, MINIMUM_SCORE, basename, blob_spans, copied_bytes, is_regular
from .trees import is_tree

_NONE = -1  # an entry no commit of the walk touches (e.g. beyond a shallow boundary)


def last_commits(store, commit, dir_path, names):
    """{name: CommitInfo} for the entries `names` (str) of the tree at `dir_path` ("" for the
    root) in `commit`; names no commit accounts for are left out."""
    g, (cid,) = _ids(store, commit)
    if cid is None:
        return {}
    directory = _path_bytes(dir_path)
    wanted = {name: name.encode("utf-8", "surrogateescape") for name in names if name and "/" not in name}
    key = ("last", g.epoch, cid, directory)
    known = _RESULTS.get(key) or {}
    todo = list(dict.fromkeys(raw for raw in wanted.values() if raw not in known))
    if todo:
        known = {**known, **_compute(store, g, cid, directory, todo)}
        _RESULTS.put(key, known, 64 + 100 * len(known))
    found = {raw: known[raw] for raw in wanted.values() if known.get(raw, _NONE) != _NONE}
    infos = {info.oid: info for info in commit_infos(store, [g.oids[c] for c in set(found.values())])}
    return {name: infos[g.oids[found[raw]]] for name, raw in wanted.items() if raw in found}


def _touched_names(store, g, directory):
    """{commit id: frozenset of the entry names of `directory` its first-parent diff touches}."""
    key = ("dirtouch", g.epoch, directory)
    hit = _RESULTS.get(key)
    if hit is not None and hit[0] == len(g.oids):
        return hit[1]
    held = len(g.oids)
    query = "SELECT p.path, cp.commit_oid FROM paths p JOIN commit_paths cp ON cp.path_id = p.id"
    if directory:
        prefix = directory + b"/"
        rows = store.con.execute(query + " WHERE p.path >= ? AND p.path < ?", (prefix, directory + b"0"))
    else:
        prefix = b""
        rows = store.con.execute(query)
    cut = len(prefix)
    name_of = {}
    touched = {}
    get = g.index.get
    for path, oid in rows:
        cid = get(oid)
        if cid is None:
            continue
        name = name_of.get(path)
        if name is None:
            name = name_of[path] = path[cut:].split(b"/", 1)[0]
        names = touched.get(cid)
        if names is None:
            touched[cid] = {name}
        else:
            names.add(name)
    touched = {cid: frozenset(names) for cid, names in touched.items()}
    _RESULTS.put(key, (held, touched), 64 + sum(120 + 40 * len(names) for names in touched.values()))
    return touched


def _compute(store, g, start, directory, names):
    touched = _touched_names(store, g, directory)
    shortcut = _from_first_parent(g, start, directory, names, touched)
    if shortcut is not None:
        return shortcut
    parents, times = g.parents, g.times
    dir_parts = directory.split(b"/") if directory else []
    trees = _Trees(store)
    empty = frozenset()
    result = {name: _NONE for name in names}
    # Each group: entries still looking, and the state of their shared walk (queue, seen, queue
    # counter, and the commit to look at next when it skipped the queue).
    groups = [(set(names), [], {start}, [0], start)]
    while groups:
        looking, heap, seen, seq, commit = groups.pop()
        while looking:
            if commit is None:
                if not heap:
                    break
                commit = heapq.heappop(heap)[2]
            ps = parents[commit]
            here = touched.get(commit)
            hit = here & looking if here else empty
            if hit and len(ps) > 1:
                follow = _merge_choices(store, g, trees, commit, ps, dir_parts, looking, hit, result)
                looking -= {name for name in hit if result[name] == commit}
                ways = [(parent_ids, group) for parent_ids, group in follow.items() if group]
                for parent_ids, group in ways[1:]:
                    # Entries that part ways here walk on with copies of the walk so far.
                    split = (set(group), list(heap), set(seen), [seq[0]], None)
                    _push(split[1], split[2], split[3], times, parent_ids)
                    groups.append(split)
                if ways:
                    looking.intersection_update(ways[0][1])
                    _push(heap, seen, seq, times, ways[0][0])
                commit = None
                continue
            # A non-merge shows for the entries it touches; everyone goes on to its parent, or to
            # the first parent of a merge they are all TREESAME to.
            if hit:
                for name in hit:
                    result[name] = commit
                looking -= hit
            commit = None
            if ps and ps[0] not in seen:
                p = ps[0]
                seen.add(p)
                seq[0] += 1
                if not heap or times[p] > -heap[0][0]:
                    commit = p          # it would come straight back out of the queue
                else:
                    heapq.heappush(heap, (-times[p], seq[0], p))
    return result


def _push(heap, seen, seq, times, parent_ids):
    for p in parent_ids:
        if p not in seen:
            seen.add(p)
            seq[0] += 1
            heapq.heappush(heap, (-times[p], seq[0], p))


def _merge_choices(store, g, trees, commit, ps, dir_parts, looking, hit, result):
    """How each entry goes on at a merge: {parents to follow: entries}. Entries the merge leaves as
    in its first parent follow that one; the others follow the first later parent they are
    TREESAME to, or, TREESAME to none, show here (their answer)."""
    follow = {ps[:1]: looking - hit}
    mine = _dir_entries(trees, _tree_of(store, g, commit), dir_parts)
    theirs = {}
    for name in hit:
        entry = mine.get(name)
        for p in ps[1:]:
            if p not in theirs:
                theirs[p] = _dir_entries(trees, _tree_of(store, g, p), dir_parts)
            if theirs[p].get(name) == entry:
                follow.setdefault((p,), set()).add(name)
                break
        else:
            result[name] = commit
    return follow


def _dir_entries(trees, tree, parts):
    """name -> (mode, oid) of the directory at `parts` below `tree` ({} when it is not there)."""
    oid = tree
    for name in parts:
        got = trees.entries(oid).get(name)
        if got is None or not is_tree(got[0]):
            return {}
        oid = got[1]
    return trees.entries(oid)


def _from_first_parent(g, start, directory, names, touched):
    """The answers straight from the first parent's cached ones, when git's walk from `start` is
    `start` and then exactly the walk from that parent: a non-merge (entries it touches are its
    own), or a merge that leaves every entry as in its first parent."""
    ps = g.parents[start]
    if not ps:
        return None
    cached = _RESULTS.get(("last", g.epoch, ps[0], directory))
    if cached is None:
        return None
    hit = touched.get(start, frozenset())
    if len(ps) > 1 and any(name in hit for name in names):
        return None
    if len(ps) == 1:
        if not all(name in hit or name in cached for name in names):
            return None
        return {name: start if name in hit else cached[name] for name in names}
    if not all(name in cached for name in names):
        return None
    return {name: cached[name] for name in names}


# -- a file's history across renames and copies ---------------------------------------------------

def follow_order(store, g, tip, path):
    """`git log --follow TIP -- FILE`: no simplification (every commit of `git rev-list TIP` is
    looked at), merges never shown, and where a commit adds the file, git's rename and copy
    detection names the file it came from, which is followed from then on, for all later commits
    of the walk, as git does."""
    trees = _Trees(store)
    parents = g.parents
    out = array("i")
    file = _Followed(store, g, trees, path)
    for commit in _order(g, tip):
        ps = parents[commit]
        if len(ps) > 1 or commit not in file.touching:
            continue
        out.append(commit)
        if not ps or file.in_first_parent(commit) or not file.is_in(commit):
            continue
        # The commit adds the file: where from?
        new = _lookup(trees, _tree_of(store, g, commit), file.parts)
        source = _copy_source(store, trees, _tree_of(store, g, ps[0]), _tree_of(store, g, commit), file.path, new)
        if source is not None:
            file = _Followed(store, g, trees, source)
    return out


class _Followed:
    """The path --follow is on, with the commits touching it and what is known of where it is a
    file."""

    def __init__(self, store, g, trees, path):
        self.store, self.g, self.trees = store, g, trees
        self.path, self.parts = path, path.split(b"/")
        self.touching = _touching(store, g, path)
        self.files = {}      # commit id -> the path is a file there
        self.nearest = {}    # commit id -> the nearest commit of its first-parent line touching the path

    def is_in(self, commit):
        if commit not in self.files:
            entry = _lookup(self.trees, _tree_of(self.store, self.g, commit), self.parts)
            self.files[commit] = entry is not None and not is_tree(entry[0])
        return self.files[commit]

    def in_first_parent(self, commit):
        """Is the path a file in the commit's first parent? It is as the nearest commit of the
        first-parent line that touched it left it (no tree needed for the commits between)."""
        parents, nearest = self.g.parents, self.nearest
        c, passed = parents[commit][0], []
        while c is not None and c not in self.touching and c not in nearest:
            passed.append(c)
            c = parents[c][0] if parents[c] else None
        found = nearest.get(c, c) if c is not None else None
        for p in passed:
            nearest[p] = found
        return found is not None and self.is_in(found)


# -- renames and copies (for --follow) ----------------------------------------------------------
# git log --follow looks for the file's origin when a commit adds it: rename detection with
# --find-copies-harder over the whole commit, one destination. Every file of the parent is a
# source; deleted ones are preferred (a rename) over ones that stay (a copy). Exact matches
# first, then git's similarity estimate (diffcore-delta: bytes of matching line chunks).

_IDENTICAL_TRIES = 100      # git looks at no more identical sources than this
_SLOTS = 4                  # candidates git keeps per destination (NUM_CANDIDATE_PER_DST)
_SIZES = _LRU(8 << 20)      # blob oid -> size


def _all_files(store, trees, tree):
    """[(path, mode, oid)] of every non-tree entry below `tree`, in git's diff order (cached: many
    files added by one commit share its parent)."""
    return _cached(("files", tree), lambda: _list_files(trees, tree), lambda files: 64 + 160 * len(files))


def _list_files(trees, tree):
    out = []
    pending = [(tree, b"")]
    while pending:
        oid, prefix = pending.pop()
        for name, (mode, child) in trees.entries(oid).items():
            if is_tree(mode):
                pending.append((child, prefix + name + b"/"))
            else:
                out.append((prefix + name, mode, child))
    out.sort()
    return out


def _blob_sizes(store, oids):
    sizes, missing = {}, []
    for oid in oids:
        size = _SIZES.get(oid)
        if size is None:
            missing.append(oid)
        else:
            sizes[oid] = size
    missing = list(dict.fromkeys(missing))
    for start in range(0, len(missing), _BATCH):
        batch = missing[start:start + _BATCH]
        for oid, size in store.con.execute(
                f"SELECT oid, size FROM objects WHERE oid IN ({','.join('?' * len(batch))})", batch):
            sizes[oid] = _SIZES.put(oid, size, 100)
    return sizes


def _copy_source(store, trees, old_tree, new_tree, path, new_entry):
    """The path `git log --follow` goes on with at a commit that adds file `path` (new_entry:
    its (mode, oid)), or None."""
    found = _identical_source(store, trees, old_tree, new_tree, path, new_entry)
    mode, oid = new_entry
    if found or oid == EMPTY_BLOB or not is_regular(mode):
        return found or None     # git's estimate finds nothing similar to an empty file
    sources = _all_files(store, trees, old_tree)
    if found is None:  # identical files can only score 0 here: git takes the first
        match = next((src[0] for src in sources if _identical(new_entry, src[1], src[2])), None)
        if match is not None:
            return match
    name = basename(path)
    sizes = _blob_sizes(store, [oid] + [s[2] for s in sources if is_regular(s[1])])
    target = (oid, sizes.get(oid, 0))
    slots = [None] * _SLOTS
    for src_path, src_mode, src_oid in sources:
        score = _similarity(store, (src_oid, sizes.get(src_oid, 0)), target) if is_regular(src_mode) else 0
        _record_if_better(slots, (score, basename(src_path) == name, src_path))
    ranked = sorted((slot for slot in slots if slot is not None and slot[0] >= MINIMUM_SCORE),
                    key=lambda slot: (-slot[0], -slot[1]))     # stable, as git's STABLE_QSORT
    for slot in ranked:          # a rename first, then a copy
        entry = _lookup(trees, new_tree, slot[2].split(b"/"))
        if entry is None or is_tree(entry[0]):
            return slot[2]
    return ranked[0][2] if ranked else None


def _identical(new_entry, src_mode, src_oid):
    """git's exact match: the same blob; non-regular files (symlinks) also of the same mode."""
    mode, oid = new_entry
    return src_oid == oid and ((is_regular(src_mode) and is_regular(mode)) or src_mode == mode)


def _identical_source(store, trees, old_tree, new_tree, path, new_entry):
    """git's exact match: among the parent's files identical to the new one (in path order, at
    most 100 looked at), the first scoring best: 1 for a deleted file plus 1 for the same basename.
    -> the path; "" when no file is identical; None when only files scoring 0 may be (the caller
    finds the first). Deleted files come from a diff of the two trees; for a non-empty file, the
    files with its basename from the paths index; otherwise the parent is walked in git's order,
    only as far as needed."""
    mode, oid = new_entry
    name = basename(path)
    deleted = [src for src in _deleted_files(trees, old_tree, new_tree) if _identical(new_entry, src[1], src[2])]
    deleted_paths = {src[0] for src in deleted}
    top = 2 if any(basename(src[0]) == name for src in deleted) else 1
    if oid != EMPTY_BLOB:
        # Many identical files are unlikely but for the empty one: git's limit of 100 is ignored.
        if top == 2:
            return next(src[0] for src in deleted if basename(src[0]) == name)
        like = store.con.execute(
            "SELECT path FROM paths WHERE path = ? OR (length(path) > ? AND substr(path, ?) = ?)",
            (name, len(name) + 1, -len(name) - 1, b"/" + name)).fetchall()
        if len(like) <= 64:
            candidates = list(deleted)
            for (other,) in like:
                entry = _lookup(trees, old_tree, other.split(b"/"))
                if entry is not None and _identical(new_entry, *entry) and other not in deleted_paths:
                    candidates.append((other,) + entry)
            return _first_best(sorted(candidates), deleted_paths, name, top) if candidates else None
    walk = (src for src in _walk_files(trees, old_tree) if _identical(new_entry, src[1], src[2]))
    return _first_best(walk, deleted_paths, name, top)


def _first_best(candidates, deleted_paths, name, top):
    """git's find_identical_files over identical `candidates` in path order; stops at score `top`."""
    best, best_score, tries = "", -1, _IDENTICAL_TRIES
    for src_path, _, _ in candidates:
        score = (src_path in deleted_paths) + (basename(src_path) == name)
        if score > best_score:
            best, best_score = src_path, score
            if score == top:
                break
        tries -= 1
        if not tries:
            break
    return best


def _walk_files(trees, tree, prefix=b""):
    """(path, mode, oid) of the files below `tree`, lazily, in git's order (full paths sorted)."""
    for name, (mode, oid) in trees.entries(tree).items():
        if is_tree(mode):
            yield from _walk_files(trees, oid, prefix + name + b"/")
        else:
            yield prefix + name, mode, oid


def _deleted_files(trees, old, new):
    """[(path, mode, oid)] of the files of tree `old` that tree `new` no longer has (as files),
    in path order; only subtrees that differ are read."""
    out = []
    pending = [(old, new, b"")]
    while pending:
        old, new, prefix = pending.pop()
        if old == new:
            continue
        old_entries = trees.entries(old)
        new_entries = trees.entries(new) if new else {}
        for name, (mode, oid) in old_entries.items():
            got = new_entries.get(name)
            if got == (mode, oid):
                continue
            if is_tree(mode):
                pending.append((oid, got[1] if got and is_tree(got[0]) else None, prefix + name + b"/"))
            elif got is None or is_tree(got[0]):
                out.append((prefix + name, mode, oid))
    out.sort()
    return out


def _worse(a, b):
    """git's score_compare(a, b) > 0: unused slots sink, then lower score, then other basename."""
    if a is None:
        return b is not None
    if b is None:
        return False
    return (a[0], a[1]) < (b[0], b[1])


def _record_if_better(slots, candidate):
    worst = 0
    for i in range(1, len(slots)):
        if _worse(slots[i], slots[worst]):
            worst = i
    if _worse(slots[worst], candidate):
        slots[worst] = candidate


def _similarity(store, src, dst):
    """git's estimate_similarity (0..60000) of blobs src and dst, given as (oid, size)."""
    big, small = max(src[1], dst[1]), min(src[1], dst[1])
    if not dst[1] or big * (MAX_SCORE - MINIMUM_SCORE) < (big - small) * MAX_SCORE:
        return 0
    a, b = _spans(store, src[0]), _spans(store, dst[0])
    # A clear miss without hashing is a miss: --follow scores a file against every file of the
    # parent, and hashing them all cost twice the rest of the walk.
    estimate = a.common_unhashed(b) * MAX_SCORE // big
    if estimate < MINIMUM_SCORE - 5000 and big > 2048:
        return estimate
    return copied_bytes(a.hashed(), b.hashed()) * MAX_SCORE // big


def _spans(store, oid):
    def data_of(oid):
        type_num, data = store.get(oid)
        return data if type_num == OBJ_BLOB else b""
    return blob_spans(oid, data_of)
