"""Merging two commits as `git merge-tree --write-tree` (the "ort" strategy) does, at the store
level: no working tree, no index, nothing written. No Django here.

- merge_commits(store, ours, theirs): the merge bases (ancestry.merge_bases, as `git merge-base
  --all`); one base: its tree; none: the empty tree; several (criss-cross): the bases merged
  two by two, oldest first, into a virtual base whose own conflicts stay in it with markers, as
  ort does; then merge_trees.
- merge_trees(store, base, ours, theirs): the three-way merge of three trees. The three trees
  are walked together, descending only into directories BOTH sides changed (a directory only
  one side changed is taken whole); renames are looked for on each side among the files it
  deleted that the other side changed (git's rename rules, renames.py; that side's whole diff is
  read only then); then path by path: one side's change is taken; both sides' changes are merged
  (modes, then contents line by line, merge3.py); what cannot be merged is a conflict. The merged
  tree is ours with the edits applied; only the trees along edited paths are new.

A conflict refuses the merge: MergeResult.tree is None and .conflicts lists the paths (as
`git merge-tree --write-tree --name-only` does: a file moved aside for a file/directory or
distinct-types conflict is listed as PATH~LABEL, LABEL being the side's label); nothing is
written anywhere (new_objects is for the caller to store when it wants the clean result).

As ort does: renames (git's similarity rules, merge.renameLimit 7000, never to an empty file),
rename/rename, rename/delete, rename/add; directory renames in ort's default "conflict" mode
(files the other side added or renamed into a directory this side renamed away follow it, as a
conflict); modify/delete; add/add; modes; file/directory; symlinks and submodules conflict
unless one side kept them. Inside a virtual base (call depth > 0) conflicts keep markers (longer
by two per level), modify/delete and rename/delete keep the base version.
Not done: submodule fast-forwarding (ort needs the submodule's commits; here any two-sided
submodule change conflicts), directory-rename edge cases (a directory split between several
targets, renames of the directory on both sides), and the conflicted tree's content is not
promised to be byte-identical to git's (only clean trees are).
"""
from collections import defaultdict
from dataclasses import dataclass, field

from .ancestry import merge_bases
from .merge3 import MARKER_SIZE, merge_file
from .packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, object_id
from .renames import find_renames, is_regular
from .trees import (
    MODE_GITLINK,
    MODE_TREE,
    TreeCache,
    is_tree,
    tree_entries,
    tree_mapping,
)

MERGE_RENAME_LIMIT = 7000          # merge.renameLimit's default
EMPTY_TREE = object_id(OBJ_TREE, b"")
EMPTY_BLOB = object_id(OBJ_BLOB, b"")


@dataclass
class TreeMerge:
    tree: bytes                    # the merged tree, written even when conflicted (markers inside)
    conflicts: list                # sorted conflicted paths (bytes)
    new_objects: dict              # oid -> (type_num, raw) of blobs and trees the store lacks
    messages: list = field(default_factory=list)

    @property
    def clean(self):
        return not self.conflicts


@dataclass
class MergeResult:
    bases: list                    # merge-base oids, as `git merge-base --all` (newest first)
    tree: bytes | None             # the merged tree; None when conflicted
    conflicts: list                # sorted conflicted paths (bytes), as merge-tree --name-only
    new_objects: dict              # oid -> (type_num, raw)
    messages: list                 # what happened, one line per notable path
    conflicted_tree: bytes | None = None   # the tree with conflict markers, when conflicted

    @property
    def clean(self):
        return not self.conflicts


def _kind(mode):
    return mode & 0o170000


class _Merger:
    def __init__(self, store, objects, ours_label, theirs_label, depth):
        self.store = store
        self.trees = TreeCache(store.reader)
        self.objects = objects            # shared across the recursive merges of a virtual base
        self.ours_label = ours_label
        self.theirs_label = theirs_label
        self.depth = depth
        self.conflicts = set()
        self.messages = []
        self.aside = {}                   # path~LABEL -> entry moved aside (distinct types)

    # -- reading ----------------------------------------------------------------------------------
    def entries(self, oid):
        if oid == EMPTY_TREE:
            return {}  # a store need not hold the empty tree (unrelated histories merge through it)
        if oid in self.objects:
            return tree_mapping(self.objects[oid][1])
        return self.trees.entries(oid)

    def blob(self, oid):
        got = self.objects.get(oid)
        return got[1] if got else self.store.get(oid)[1]

    def size(self, oid):
        got = self.objects.get(oid)
        if got:
            return len(got[1])
        return self.store.reader.info(oid)[1]

    def changes(self, old, new):
        """{path: (old entry or None, new entry or None)} for every non-tree entry that differs."""
        found = {}
        pending = [(old, new, b"")]
        while pending:
            old, new, prefix = pending.pop()
            if old == new:
                continue
            a_entries = self.entries(old) if old else {}
            b_entries = self.entries(new) if new else {}
            for name in {name for name, _ in a_entries.items() ^ b_entries.items()}:
                a, b = a_entries.get(name), b_entries.get(name)
                a_tree = a is not None and is_tree(a[0])
                b_tree = b is not None and is_tree(b[0])
                if a_tree or b_tree:
                    pending.append((a[1] if a_tree else None, b[1] if b_tree else None, prefix + name + b"/"))
                a = None if a is None or a_tree else a
                b = None if b is None or b_tree else b
                if a != b:
                    found[prefix + name] = (a, b)
        return found

    def walk3(self, base, ours, theirs):
        """The changes of each side, file by file, only inside directories BOTH sides changed
        (differently); a directory only one side changed is that side's as a whole: theirs' go
        into `edits`, ours' are already in place. -> (mine, other, edits, ours_alone,
        theirs_alone), the last two telling whether a side changed some directory on its own."""
        mine, other, edits = {}, {}, {}
        alone = [False, False]
        pending = [(base, ours, theirs, b"")]
        while pending:
            b_tree, o_tree, t_tree, prefix = pending.pop()
            b_map = self.entries(b_tree) if b_tree else {}
            o_map = self.entries(o_tree) if o_tree else {}
            t_map = self.entries(t_tree) if t_tree else {}
            names = {name for name, _ in o_map.items() ^ b_map.items()}
            names.update(name for name, _ in t_map.items() ^ b_map.items())
            for name in names:
                b, o, t = b_map.get(name), o_map.get(name), t_map.get(name)
                path = prefix + name
                if o == t:
                    # Files deleted on both sides are sources of renames either side may have
                    # made (rename/delete, rename/rename): look for them below the same change.
                    if _is_dir(b) and (o is None or _is_dir(o)):
                        pending.append((b[1], _tree_of(o), _tree_of(t), path + b"/"))
                    elif o is None and b is not None:
                        mine[path] = other[path] = (b, None)
                    continue
                if b == o:
                    if _is_dir(b) or _is_dir(t):
                        edits[path] = t
                        alone[1] = True
                    else:
                        other[path] = (b, t)
                    continue
                if b == t:
                    if _is_dir(b) or _is_dir(o):
                        alone[0] = True
                    else:
                        mine[path] = (b, o)
                    continue
                if _is_dir(b) or _is_dir(o) or _is_dir(t):
                    pending.append((_tree_of(b), _tree_of(o), _tree_of(t), path + b"/"))
                b, o, t = _file_of(b), _file_of(o), _file_of(t)
                if b != o:
                    mine[path] = (b, o)
                if b != t:
                    other[path] = (b, t)
        return mine, other, edits, alone[0], alone[1]

    def lookup(self, tree, path):
        """(mode, oid) at `path` in `tree`, or None."""
        entry = (MODE_TREE, tree)
        for part in path.split(b"/"):
            if entry is None or not is_tree(entry[0]):
                return None
            entry = self.entries(entry[1]).get(part)
        return entry

    # -- writing ----------------------------------------------------------------------------------
    def store_object(self, type_num, raw):
        oid = object_id(type_num, raw)
        if oid not in self.objects and not self.store.has(oid):
            self.objects[oid] = (type_num, raw)
        return oid

    def write_tree(self, entries):
        # git's order: a directory sorts as its name followed by '/'
        keyed = sorted((name + b"/" if mode == MODE_TREE else name, name, mode, oid)
                       for name, (mode, oid) in entries.items())
        raw = b"".join([b"%o %s\0%s" % (mode, name, oid) for _key, name, mode, oid in keyed])
        return self.store_object(OBJ_TREE, raw)

    def apply(self, tree, edits):
        """`tree` with edits {relative path: entry or None} applied -> new tree oid, None if empty."""
        entries = dict(self.entries(tree)) if tree else {}
        below = defaultdict(dict)
        for path, entry in edits.items():
            head, sep, rest = path.partition(b"/")
            if sep:
                below[head][rest] = entry
            elif entry is None:
                entries.pop(head, None)
            else:
                entries[head] = entry
        for name, sub in below.items():
            current = entries.get(name)
            current_tree = current[1] if current is not None and is_tree(current[0]) else None
            if current is not None and current_tree is None and all(e is None for e in sub.values()):
                continue                   # deletions below a file that is no longer a directory
            new = self.apply(current_tree, sub)
            if new is None:
                entries.pop(name, None)
            else:
                entries[name] = (MODE_TREE, new)
        if not entries:
            return None
        return self.write_tree(entries)

    # -- merging one path -------------------------------------------------------------------------
    def conflict(self, path, why):
        self.conflicts.add(path)
        self.messages.append(f"CONFLICT ({why}): {path.decode('utf-8', 'surrogateescape')}")

    def merge_entries(self, path, base, ours, theirs):
        """Both sides changed `path` (base/ours/theirs: (mode, oid) or None) -> the entry to keep
        (None: deleted), recording a conflict when they cannot be merged."""
        if ours == theirs:
            return ours
        if ours is None or theirs is None:
            if base is not None and (ours == base or theirs == base):
                return None                # deleted on one side, untouched on the other
            self.conflict(path, "modify/delete")
            return base if self.depth else (ours or theirs)
        if _kind(ours[0]) != _kind(theirs[0]):
            # ort records both: the regular file moves aside to PATH~LABEL (both move when
            # neither is a regular file); here the non-regular one stays at the path
            self.conflict(path, "distinct types")
            if self.depth and base:
                return base
            if is_regular(theirs[0]) or not is_regular(ours[0]):
                self.aside[path + b"~" + self.theirs_label] = theirs
                self.conflict(path + b"~" + self.theirs_label, "distinct types")
            if is_regular(ours[0]):
                self.aside[path + b"~" + self.ours_label] = ours
                self.conflict(path + b"~" + self.ours_label, "distinct types")
                return theirs
            return ours
        mode = _merge_value(base and base[0], ours[0], theirs[0])
        if mode is None:
            self.conflict(path, "mode")
            mode = ours[0]
        oid = _merge_value(base and base[1], ours[1], theirs[1])
        if oid is None:
            if not is_regular(ours[0]):
                self.conflict(path, "content")
                return base if self.depth and base else ours
            base_data = self.blob(base[1]) if base is not None and is_regular(base[0]) else b""
            merged = merge_file(base_data, self.blob(ours[1]), self.blob(theirs[1]),
                                ours_label=self.ours_label, theirs_label=self.theirs_label,
                                marker_size=MARKER_SIZE + 2 * self.depth, virtual_base=bool(self.depth))
            if not merged.clean:
                self.conflict(path, "content" if base is not None else "add/add")
            oid = self.store_object(OBJ_BLOB, merged.data)
        return (mode, oid)

    # -- merging trees ----------------------------------------------------------------------------
    def renames(self, mine, other, base, side, partial):
        """{source path: destination path} of one side's renames that matter: sources it deleted
        that the other side changed (modified or deleted too). `mine` holds that side's changes
        where both sides changed the directory; when `partial` (it changed other directories on
        its own), its additions everywhere are the candidates, so its whole diff is read."""
        sources = sorted((path, old[0], old[1]) for path, (old, new) in mine.items()
                         if new is None and old is not None and path in other and _kind(old[0]) != MODE_GITLINK)
        if not sources:
            return {}
        if partial:
            mine = self.changes(base, side)
        # ort pairs exact renames among ALL deleted files first: a file that is an exact copy of
        # a deleted file nobody else touched is that file's rename, not a candidate for these
        relevant_paths = {path for path, _mode, _oid in sources}
        relevant_oids = {oid for _path, _mode, oid in sources}
        taken = {old[1] for path, (old, new) in mine.items()
                 if new is None and old is not None and path not in relevant_paths} - relevant_oids
        added = sorted((path, new[0], new[1]) for path, (old, new) in mine.items()
                       if old is None and new is not None and _kind(new[0]) != MODE_GITLINK
                       and new[1] != EMPTY_BLOB      # merges never rename to an empty file
                       and new[1] not in taken)
        if not added:
            return {}
        found = find_renames(sources, added, self.size, self.blob, limit=MERGE_RENAME_LIMIT)
        return {sources[s][0]: added[d][0] for d, (s, _score) in found.items()}

    def merge(self, base, ours, theirs):
        if ours == theirs or base == theirs:
            return ours
        if base == ours:
            return theirs
        mine, other, edits, ours_alone, theirs_alone = self.walk3(base, ours, theirs)
        ren1 = self.renames(mine, other, base, ours, ours_alone)
        ren2 = self.renames(other, mine, base, theirs, theirs_alone)
        done = set()

        def base_entry(path):
            return self.lookup(base, path)

        def ours_entry(path):
            return self.lookup(ours, path)

        def theirs_entry(path):
            return self.lookup(theirs, path)

        for src in sorted(set(ren1) | set(ren2)):
            dst1, dst2 = ren1.get(src), ren2.get(src)
            b = base_entry(src)
            done.add(src)
            if dst1 and dst2:
                done.update((dst1, dst2))
                if dst1 == dst2:
                    edits[dst1] = self.merge_entries(dst1, b, ours_entry(dst1), theirs_entry(dst2))
                else:
                    # rename/rename(1to2): the two versions merged, at both new paths (what a
                    # virtual base keeps); the source and both destinations conflict
                    self.conflict(src, "rename/rename")
                    merged = self.merge_entries(dst1, b, ours_entry(dst1), theirs_entry(dst2))
                    self.conflicts.update((dst1, dst2))
                    edits[dst1] = edits[dst2] = merged
                continue
            if dst1:                       # ours renamed src to dst1; theirs changed src
                done.add(dst1)
                t = theirs_entry(src)
                if dst1 in other:          # theirs added something at the destination too
                    self.conflict(dst1, "rename/add")
                    continue
                if t is None:
                    # inside a virtual base, ort keeps the base version at the new path
                    self.conflict(dst1, "rename/delete")
                    if self.depth:
                        edits[dst1] = b
                    continue
                edits[dst1] = self.merge_entries(dst1, b, ours_entry(dst1), t)
            else:                          # theirs renamed src to dst2; ours changed src
                done.add(dst2)
                o = ours_entry(src)
                edits[src] = None
                if dst2 in mine:
                    self.conflict(dst2, "rename/add")
                    edits[dst2] = ours_entry(dst2)
                    continue
                if o is None:
                    self.conflict(dst2, "rename/delete")
                    edits[dst2] = b if self.depth else theirs_entry(dst2)
                    continue
                edits[dst2] = self.merge_entries(dst2, b, o, theirs_entry(dst2))

        for path, (old, new) in other.items():
            if path in done:
                continue
            if path in mine:
                result = self.merge_entries(path, old, mine[path][1], new)
                if result != mine[path][1]:
                    edits[path] = result
            else:
                edits[path] = new
        edits.update(self.aside)
        # files one side added into a directory the other side renamed away (merge.directoryRenames
        # = conflict, git's default: moved to the new directory, and a conflict there)
        if not self.depth:                 # (not inside a virtual base, as git's results show)
            self.follow_directory_renames(base, theirs, ours, mine, edits)
            self.follow_directory_renames(base, ours, theirs, other, edits)
        self.check_directory_file(ours, mine, edits)
        return self.apply(ours, edits) or self.write_tree({})

    def follow_directory_renames(self, base, renamer, adder, added_by, edits):
        """Files `adder` added (in `added_by`) under a directory of the base that `renamer` no
        longer has: when renamer's renames moved that directory's files mostly to one other
        directory, the added file follows them there, as a conflict."""
        candidates = []
        for path, (old, new) in added_by.items():
            if old is not None or new is None or b"/" not in path:
                continue
            parent = path.rsplit(b"/", 1)[0]
            if _is_dir(self.lookup(base, parent)) and not _is_dir(self.lookup(renamer, parent)):
                candidates.append(path)
        if not candidates:
            return
        moved_dirs = self.directory_renames(base, renamer)
        for path in sorted(candidates):
            parts = path.split(b"/")
            for k in range(len(parts) - 1, 0, -1):     # the deepest renamed directory wins
                target = moved_dirs.get(b"/".join(parts[:k]))
                if target is not None:
                    new_path = (target + b"/" if target else b"") + b"/".join(parts[k:])
                    entry = edits.get(path) or self.lookup(adder, path)
                    edits[path] = None
                    edits[new_path] = entry
                    self.conflicts.discard(path)     # a conflict there (rename/rename) moves too
                    self.conflict(new_path, "file location")
                    break

    def directory_renames(self, base, side):
        """{old directory: new directory} for the directories of the base that `side` removed,
        from all of its renames: each rename votes for (its source's directory -> its
        destination's), common trailing components set aside; the majority wins, a tie none."""
        changes = self.changes(base, side)
        sources = sorted((p, old[0], old[1]) for p, (old, new) in changes.items()
                         if new is None and old is not None and is_regular(old[0]))
        added = sorted((p, new[0], new[1]) for p, (old, new) in changes.items()
                       if old is None and new is not None and is_regular(new[0]) and new[1] != EMPTY_BLOB)
        if not sources or not added:
            return {}
        votes = defaultdict(lambda: defaultdict(int))
        for d, (s_index, _score) in find_renames(sources, added, self.size, self.blob,
                                                 limit=MERGE_RENAME_LIMIT).items():
            old_dir = sources[s_index][0].split(b"/")[:-1]
            new_dir = added[d][0].split(b"/")[:-1]
            while old_dir and new_dir and old_dir[-1] == new_dir[-1]:
                old_dir, new_dir = old_dir[:-1], new_dir[:-1]
            if old_dir and old_dir != new_dir:
                votes[b"/".join(old_dir)][b"/".join(new_dir)] += 1
        result = {}
        for old_dir, targets in votes.items():
            if _is_dir(self.lookup(side, old_dir)):
                continue                   # the directory is still there: not renamed
            ranked = sorted(targets.items(), key=lambda item: -item[1])
            if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
                result[old_dir] = ranked[0][0]
        return result

    def check_directory_file(self, ours, mine, edits):
        """A file on one side where the other side has a directory: as ort does, the file moves
        aside to PATH~LABEL (the label of the side it came from) and is a conflict there."""
        files = {path for path, entry in edits.items() if entry is not None}
        files.update(path for path, (_old, new) in mine.items() if new is not None and path not in edits)
        moved = {}
        for path in sorted(files):
            parts = path.split(b"/")
            for k in range(1, len(parts)):
                prefix = b"/".join(parts[:k])
                if prefix in moved:
                    break
                entry = edits[prefix] if prefix in edits else self.lookup(ours, prefix)
                if entry is not None and not is_tree(entry[0]):
                    label = self.ours_label if entry == self.lookup(ours, prefix) else self.theirs_label
                    moved[prefix] = (prefix + b"~" + label, entry)
                    break
        for prefix, (aside, entry) in moved.items():
            self.conflicts.discard(prefix)
            self.conflict(aside, "file/directory")
            edits[prefix] = None
            edits[aside] = entry


def _is_dir(entry):
    return entry is not None and is_tree(entry[0])


def _tree_of(entry):
    return entry[1] if entry is not None and is_tree(entry[0]) else None


def _file_of(entry):
    return None if entry is None or is_tree(entry[0]) else entry


def _merge_value(base, ours, theirs):
    """The three-way rule for one value: whichever side changed it; None when both did, differently."""
    if ours == theirs:
        return ours
    if base == ours:
        return theirs
    if base == theirs:
        return ours
    return None


def merge_trees(store, base_tree, ours_tree, theirs_tree, *, ours_label=b"ours", theirs_label=b"theirs",
                objects=None, _depth=0):
    """Three-way merge of three trees (base_tree None: the empty tree) -> TreeMerge.
    For a cherry-pick of C onto H: merge_trees(store, tree(C^), tree(H), tree(C)).
    `objects`: objects made but not stored yet ({oid: (type, raw)}), read as if they were stored and
    added to; replaying several commits in a row passes each step's objects to the next."""
    objects = {} if objects is None else objects
    merger = _Merger(store, objects, ours_label, theirs_label, _depth)
    tree = merger.merge(base_tree or EMPTY_TREE, ours_tree or EMPTY_TREE, theirs_tree or EMPTY_TREE)
    if tree == EMPTY_TREE and not store.has(EMPTY_TREE):
        objects[EMPTY_TREE] = (OBJ_TREE, b"")
    return TreeMerge(tree, sorted(merger.conflicts), objects, merger.messages)


# --- commits ---------------------------------------------------------------------------------------

def _bases_of(store, tips, other):
    """Merge bases of a virtual commit whose parents are `tips` (real commits) and `other`: the
    best of every parent's merge bases, newest first."""
    found = []
    for tip in tips:
        for oid in merge_bases(store, tip, other):
            if oid not in found:
                found.append(oid)
    graph = store.graph
    best = [c for c in found if not any(c != d and graph.is_ancestor(c, d) for d in found)]
    best.sort(key=lambda oid: -graph.node(oid).time)
    return best


def _base_tree(store, bases, objects, depth):
    """The tree to merge against: the single base's, the empty tree, or the virtual base that
    merging the bases oldest first gives (ort's merge_ort_internal)."""
    graph = store.graph
    if not bases:
        return None
    if len(bases) == 1:
        return graph.node(bases[0]).tree
    ordered = list(reversed(bases))
    tips = [ordered[0]]
    tree = graph.node(ordered[0]).tree
    for nxt in ordered[1:]:
        inner = _bases_of(store, tips, nxt)
        inner_base = _base_tree(store, inner, objects, depth + 1)
        merged = merge_trees(store, inner_base, tree, graph.node(nxt).tree,
                             ours_label=b"Temporary merge branch 1", theirs_label=b"Temporary merge branch 2",
                             objects=objects, _depth=depth + 1)
        tree = merged.tree
        tips.append(nxt)
    return tree


def merge_commits(store, ours, theirs, *, ours_label=b"ours", theirs_label=b"theirs"):
    """Merge commit `theirs` into commit `ours` (20-byte oids) -> MergeResult. The labels name
    the sides in conflict markers and in PATH~LABEL (git uses the branch names it was given).
    ValueError when either is not a known commit."""
    for oid in (ours, theirs):
        if store.graph.node(oid) is None:
            raise ValueError(f"{oid.hex()} is not a commit of this repository")
    bases = merge_bases(store, ours, theirs)
    objects = {}
    base_tree = _base_tree(store, bases, objects, 0)
    graph = store.graph
    merged = merge_trees(store, base_tree, graph.node(ours).tree, graph.node(theirs).tree,
                         ours_label=ours_label, theirs_label=theirs_label, objects=objects)
    if merged.conflicts:
        return MergeResult(bases, None, merged.conflicts, {}, merged.messages, merged.tree)
    # With one base every object made is in the merged tree; a virtual base's own are left out.
    new = objects if len(bases) < 2 else reachable_new(objects, merged.tree)
    return MergeResult(bases, merged.tree, [], new, merged.messages)


def reachable_new(objects, start):
    """The objects of `objects` ({oid: (type, raw)}, made but not stored) that `start` (a tree or a
    commit) uses: what is left out was made on the way (a virtual base's blobs, a dropped step)."""
    keep = {}
    pending = [start]
    while pending:
        oid = pending.pop()
        got = objects.get(oid)
        if got is None or oid in keep:
            continue
        keep[oid] = got
        if got[0] == OBJ_TREE:
            pending.extend(entry_oid for _mode, _name, entry_oid in tree_entries(got[1]))
        elif got[0] == OBJ_COMMIT:
            header = got[1].split(b"\n\n", 1)[0].split(b"\n")
            pending.extend(bytes.fromhex(line.split(b" ", 1)[1].decode()) for line in header
                           if line.startswith((b"tree ", b"parent ")))
    return keep


__all__ = ["EMPTY_TREE", "MergeResult", "TreeMerge", "merge_commits", "merge_trees", "reachable_new"]
