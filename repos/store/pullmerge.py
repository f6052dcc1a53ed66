"""Merging one branch into another the three ways a pull request can be merged, written as a push
lands (repos/store/write.py): the target ref moves by compare-and-swap from the tip the merge was
computed on, so a push that lands in between fails the merge cleanly and nothing is lost. No Django.

- merge:  a merge commit whose parents are the target's tip and the head (`git merge --no-ff`);
- squash: one commit with the merged tree and the target's tip as its only parent;
- rebase: the head's commits (merges left out, as `git rebase` does) replayed one by one onto the
          target's tip, each keeping its author and message; a fast-forward when the target's tip
          is already an ancestor of the head.
"""
from dataclasses import dataclass, field

from . import ancestry
from .merge import merge_commits, merge_trees, reachable_new
from .packformat import OBJ_COMMIT, object_id
from .write import RefMoved, Signature, commit_object, write_and_move_ref

MERGE, SQUASH, REBASE = "merge", "squash", "rebase"
METHODS = (MERGE, SQUASH, REBASE)
# A rebase replays commits one at a time; past this many, a merge commit is the sensible way.
MAX_REBASE_COMMITS = 250


class NothingToMerge(Exception):
    """The head is already part of the target."""


class MergeConflict(Exception):
    def __init__(self, paths, commit=None):
        self.paths = [p.decode("utf-8", "replace") if isinstance(p, bytes) else p for p in paths]
        self.commit = commit  # for a rebase: the commit that did not apply
        where = f" while replaying {commit.hex()[:7]}" if commit else ""
        super().__init__(f"merge conflict{where} in {', '.join(self.paths[:10])}"
                         + (f" and {len(self.paths) - 10} more" if len(self.paths) > 10 else ""))


@dataclass
class Merged:
    method: str
    old_tip: bytes
    new_tip: bytes
    fast_forward: bool = False
    created: list = field(default_factory=list)  # the new commits, oldest first


def preview(store, target_tip: bytes, head: bytes):
    """What merging `head` into `target_tip` gives: the engine's result (bases, tree or None,
    conflicts), without writing anything."""
    return merge_commits(store, target_tip, head)


def merge_branch(store, *, target_ref: str, expected_tip: bytes, head: bytes, method: str, message: str,
                 committer: Signature, author: Signature | None = None, tmp_dir: str | None = None) -> Merged:
    """Merge `head` into `target_ref`, which must still point at `expected_tip` (the tip the caller
    showed and checked); raises RefMoved if it does not, MergeConflict, NothingToMerge."""
    if method not in METHODS:
        raise ValueError(f"unknown merge method {method!r}")
    tip = store.ref(target_ref)
    if tip != expected_tip:
        raise RefMoved(f"{target_ref} moved since the pull request was last checked; look again and retry")
    if store.graph.is_ancestor(head, tip):
        raise NothingToMerge("the head is already merged into the target")
    if method == REBASE:
        return _rebase(store, target_ref, tip, head, committer, tmp_dir)
    result = merge_commits(store, tip, head)
    if result.conflicts:
        raise MergeConflict(result.conflicts)
    parents = [tip, head] if method == MERGE else [tip]
    raw = commit_object(result.tree, parents, author or committer, committer, message)
    commit = object_id(OBJ_COMMIT, raw)
    objects = dict(result.new_objects)
    objects[commit] = (OBJ_COMMIT, raw)
    write_and_move_ref(store, objects, target_ref, tip, commit, tmp_dir)
    return Merged(method, tip, commit, created=[commit])


def _rebase(store, target_ref, tip, head, committer, tmp_dir):
    if store.graph.is_ancestor(tip, head):
        write_and_move_ref(store, {}, target_ref, tip, head, tmp_dir)
        return Merged(REBASE, tip, head, fast_forward=True)
    infos = ancestry.commits_between(store, tip, head, limit=MAX_REBASE_COMMITS + 1)
    if len(infos) > MAX_REBASE_COMMITS:
        raise ValueError(f"more than {MAX_REBASE_COMMITS} commits to rebase; merge them instead")
    objects, created = {}, []
    current, current_tree = tip, store.graph.node(tip).tree
    for info in _oldest_first([i for i in infos if len(i.parents) == 1]):
        parent_tree = store.graph.node(info.parents[0]).tree
        # Objects made by earlier steps are not stored yet: the merge reads them from `objects`.
        result = merge_trees(store, parent_tree, current_tree, info.tree, objects=objects)
        if result.conflicts:
            raise MergeConflict(result.conflicts, commit=info.oid)
        if result.tree == current_tree:
            continue  # already in the target (git rebase drops such a commit too)
        raw = replay_commit(store.get(info.oid)[1], result.tree, current, committer)
        current, current_tree = object_id(OBJ_COMMIT, raw), result.tree
        objects[current] = (OBJ_COMMIT, raw)
        created.append(current)
    if not created:
        raise NothingToMerge("every commit of the head is already in the target")
    write_and_move_ref(store, reachable_new(objects, current), target_ref, tip, current, tmp_dir)
    return Merged(REBASE, tip, current, created=created)


def _oldest_first(infos):
    """Parents before children (git log order reversed is that, but for clock skew)."""
    pending = {info.oid: info for info in infos}
    done, order = set(), []

    def visit(info):
        stack = [info]
        while stack:
            top = stack[-1]
            if top.oid in done:
                stack.pop()
                continue
            waiting = [pending[p] for p in top.parents if p in pending and p not in done]
            if waiting:
                stack.extend(waiting)
                continue
            done.add(top.oid)
            order.append(top)
            stack.pop()

    for info in reversed(infos):
        visit(info)
    return order


def replay_commit(raw: bytes, tree: bytes, parent: bytes, committer: Signature) -> bytes:
    """`raw` (a commit) with a new tree, one parent and a new committer; its author, message and
    other headers (an encoding) kept byte for byte, and a signature dropped (it would not verify)."""
    header, sep, message = raw.partition(b"\n\n")
    lines, kept = header.split(b"\n"), []
    skipping = False
    for line in lines:
        if skipping and line.startswith(b" "):
            continue  # continuation of a multi-line header (gpgsig)
        skipping = False
        key = line.split(b" ", 1)[0]
        if key in (b"tree", b"parent"):
            continue
        if key == b"committer":
            kept.append(b"committer " + committer.encode())
        elif key in (b"gpgsig", b"gpgsig-sha256", b"mergetag"):
            skipping = True
        else:
            kept.append(line)
    return b"\n".join([b"tree " + tree.hex().encode(), b"parent " + parent.hex().encode(), *kept]) + sep + message


__all__ = ["MERGE", "SQUASH", "REBASE", "METHODS", "Merged", "MergeConflict", "NothingToMerge", "RefMoved",
           "merge_branch", "preview", "replay_commit"]
