"""Cherry-pick and revert onto a branch, as `git cherry-pick` and `git revert` do, written as a push
lands (write.py: one transaction, the branch moved by compare-and-swap). No Django here.

Both are one three-way merge with the existing engine (merge.merge_trees):
- cherry-pick C onto the branch tip T: base = C's parent, ours = T, theirs = C. The new commit keeps
  C's author, message and other headers (an encoding) byte for byte, as `git cherry-pick` does;
  the committer is whoever asked.
- revert C on T: base = C, ours = T, theirs = C's parent. The author and committer are whoever
  asked; the message is git's: `Revert "SUBJECT"` and `This reverts commit SHA.` (for a merge:
  `This reverts commit SHA, reversing\\nchanges made to PARENT.`).
A merge commit needs `mainline`, the 1-based number of the parent to pick or revert against, as
git's `-m`; a non-merge refuses one (git does too). A conflict, a result that changes nothing
(git stops with "empty" there) or a branch that moved refuse the whole operation: nothing is
written.
"""
from dataclasses import dataclass, field

from .merge import merge_trees, reachable_new
from .packformat import OBJ_COMMIT, object_id
from .pullmerge import replay_commit
from .write import RefMoved, Signature, commit_object, write_and_move_ref

CHERRY_PICK, REVERT = "cherry-pick", "revert"


class PickRefused(ValueError):
    """The request cannot be carried out as asked (bad mainline, not a commit, nothing to change)."""


class PickConflict(Exception):
    """The three-way merge conflicts; `paths` lists the conflicted paths (str), as
    `git merge-tree --name-only` names them."""

    def __init__(self, paths, commit: bytes, action: str):
        self.paths = [p.decode("utf-8", "replace") if isinstance(p, bytes) else p for p in paths]
        self.commit = commit
        shown = ", ".join(self.paths[:20]) + (f" and {len(self.paths) - 20} more" if len(self.paths) > 20 else "")
        super().__init__(f"{action} of {commit.hex()[:7]} conflicts in {shown}")


class EmptyPick(PickRefused):
    """The result's tree is the branch tip's: the change is already there (or already undone)."""


@dataclass
class Picked:
    action: str                 # CHERRY_PICK or REVERT
    source: bytes               # the commit picked or reverted
    ref: str
    old_tip: bytes
    new_tip: bytes              # the new commit
    tree: bytes
    messages: list = field(default_factory=list)   # the merge engine's notes (renames followed, ...)


def _parent_for(store, node, mainline):
    """The parent the change is measured against: the only one, or parent `mainline` of a merge."""
    parents = node.parents
    if len(parents) > 1:
        if mainline is None:
            raise PickRefused(f"commit {node.oid.hex()} is a merge but no mainline was given")
        if not 1 <= mainline <= len(parents):
            raise PickRefused(f"commit {node.oid.hex()} does not have parent {mainline}")
        return parents[mainline - 1]
    if mainline is not None:
        raise PickRefused(f"mainline was given but commit {node.oid.hex()} is not a merge")
    return parents[0] if parents else None


def revert_message(store, commit: bytes, parent: bytes | None, merge: bool) -> str:
    """git revert's message (git 2.39: a revert of a revert is not called "Reapply")."""
    raw = store.get(commit)[1]
    message = raw.partition(b"\n\n")[2].decode("utf-8", "replace")
    subject = message.lstrip("\n").split("\n", 1)[0]
    text = f'Revert "{subject}"\n\nThis reverts commit {commit.hex()}'
    if merge and parent is not None:
        text += f", reversing\nchanges made to {parent.hex()}"
    return text + ".\n"


def _with_message(raw: bytes, message: str) -> bytes:
    header = raw.partition(b"\n\n")[0]
    text = message if message.endswith("\n") else message + "\n"
    return header + b"\n\n" + text.encode("utf-8")


def pick(store, action: str, *, ref: str, commit: bytes, committer: Signature, expected_tip: bytes | None = None,
         message: str | None = None, mainline: int | None = None, tmp_dir: str | None = None) -> Picked:
    """Cherry-pick (action CHERRY_PICK) or revert (REVERT) `commit` onto branch `ref` and move the
    branch to the new commit. `expected_tip`: the tip the caller saw (RefMoved if it is not the tip
    now). `message` replaces the commit's message (cherry-pick) or git's revert message.
    Raises PickRefused (unknown branch or commit, bad mainline, EmptyPick), PickConflict, RefMoved,
    WriteRefused; then nothing was written."""
    if action not in (CHERRY_PICK, REVERT):
        raise ValueError(f"unknown action {action!r}")
    graph = store.graph
    tip = store.ref(ref)
    if tip is None or graph.node(tip) is None:
        raise PickRefused(f"{ref} is not a branch of this repository")
    if expected_tip is not None and expected_tip != tip:
        raise RefMoved(f"{ref} is at {tip.hex()}, not at the expected {expected_tip.hex()}; nothing was changed")
    node = graph.node(commit)
    if node is None:
        raise PickRefused(f"{commit.hex()} is not a commit of this repository")
    parent = _parent_for(store, node, mainline)
    parent_tree = graph.node(parent).tree if parent is not None else None
    tip_tree = graph.node(tip).tree
    made = {}  # a root commit's "parent" is the empty tree, which the merge engine knows without reading
    if action == CHERRY_PICK:
        merged = merge_trees(store, parent_tree, tip_tree, node.tree, objects=made,
                             ours_label=b"HEAD", theirs_label=commit.hex()[:7].encode())
    else:
        merged = merge_trees(store, node.tree, tip_tree, parent_tree, objects=made,
                             ours_label=b"HEAD", theirs_label=b"parent of " + commit.hex()[:7].encode())
    if merged.conflicts:
        raise PickConflict(merged.conflicts, commit, action)
    if merged.tree == tip_tree:
        raise EmptyPick(f"the {action} of {commit.hex()[:7]} changes nothing on {ref}")
    if action == CHERRY_PICK:
        raw = replay_commit(store.get(commit)[1], merged.tree, tip, committer)
        if message:
            raw = _with_message(raw, message)
    else:
        text = message or revert_message(store, commit, parent, len(node.parents) > 1)
        raw = commit_object(merged.tree, [tip], committer, committer, text)
    new = object_id(OBJ_COMMIT, raw)
    objects = reachable_new(merged.new_objects, merged.tree)
    objects[new] = (OBJ_COMMIT, raw)
    write_and_move_ref(store, objects, ref, tip, new, tmp_dir)
    return Picked(action, commit, ref, tip, new, merged.tree, merged.messages)


def cherry_pick(store, **kwargs) -> Picked:
    """`git cherry-pick COMMIT` on branch `ref` (see pick)."""
    return pick(store, CHERRY_PICK, **kwargs)


def revert(store, **kwargs) -> Picked:
    """`git revert COMMIT` on branch `ref` (see pick)."""
    return pick(store, REVERT, **kwargs)


__all__ = ["CHERRY_PICK", "REVERT", "EmptyPick", "PickConflict", "PickRefused", "Picked", "cherry_pick",
           "pick", "revert", "revert_message"]
