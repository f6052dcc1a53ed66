"""Checking the trees and commits of a push as `git fsck` would, keeping what the commit index
will need of them (the parsed commits, and the parsed trees up to a bound)."""
import contextlib
import ctypes
import gc
import threading

from .commit_index import BadCommit, parse_commit
from .packformat import OBJ_COMMIT, OBJ_TREE
from .trees import check_tree

TREES_KEPT = 100000  # parsed trees handed on to the commit index; beyond that they are re-read


class IngestError(Exception):
    """A pack that cannot be accepted; the message is what `git push` prints after `unpack`."""


class TreeCommitChecker:
    def __init__(self):
        self.trees = {}      # oid -> parsed tree, for the commit index
        self.commits = {}    # oid -> parse_commit record
        self.needed = set()  # what the checked objects point at

    def add(self, type_num, oid, raw):
        if type_num == OBJ_TREE:
            try:
                mapping, children = check_tree(raw)
            except ValueError as e:
                raise IngestError(f"invalid tree {oid.hex()}: {e}") from None
            self.needed.update(children)
            if len(self.trees) < TREES_KEPT:
                self.trees[oid] = mapping
        elif type_num == OBJ_COMMIT:
            try:
                record = parse_commit(raw)
            except BadCommit as e:
                raise IngestError(f"invalid commit {oid.hex()}: {e}") from None
            self.commits[oid] = record
            self.needed.add(record["tree"])
            self.needed.update(record["parents"])
        else:
            raise ValueError(f"not a tree or commit: type {type_num}")



_gc_lock = threading.Lock()
_gc_pausers = 0


@contextlib.contextmanager
def paused_gc():
    """Checking a big push allocates millions of small objects that all stay alive until it ends;
    the cyclic GC would rescan them again and again (a tenth of the time) for no garbage, since
    nothing here makes reference cycles. Paused for as long as any push in this process checks."""
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        if _gc_pausers == 1:
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0:
                gc.enable()


def return_memory_to_os():
    """After a big push: the freed objects' memory is mostly in malloc's free lists, which keep a
    worker at its peak for ever; malloc_trim (glibc) hands it back. Elsewhere it does nothing."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
