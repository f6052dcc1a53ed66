"""A helper process that checks a big push's trees while the receiving process is still inflating
and resolving the pack, so a push uses both cores (git's own index-pack is multi-threaded too).
The receiver keeps everything else, including parsing the trees for the commit index: the
helper's share is about what the receiver has left over while it indexes.

The receiver sends trees in batches as it resolves them, then asks for the verdict. If the helper
cannot be started or dies, the caller checks inline instead; nothing depends on it."""
import multiprocessing

from .objectcheck import IngestError, TreeCommitChecker, paused_gc
from .packformat import OBJ_TREE
from .trees import validate_tree

BATCH_TREES = 2000


def _validate(conn):
    error = None
    with paused_gc():
        while True:
            message = conn.recv()
            if message is None:
                conn.send(error)
                return
            if error is None:
                for oid, raw in message:
                    try:
                        validate_tree(raw)
                    except ValueError as e:
                        error = f"invalid tree {oid.hex()}: {e}"
                        break


class HelperFailed(Exception):
    pass


class HelperChecker:
    """The TreeCommitChecker interface, with the tree checks done in a helper process."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_validate, args=(child,), name="forge-push-check", daemon=True)
        self.process.start()
        child.close()
        self.local = TreeCommitChecker(validated_elsewhere=True)
        self.batch = []

    @property
    def needed(self):
        return self.local.needed

    def add(self, type_num, oid, raw):
        self.local.add(type_num, oid, raw)
        if type_num == OBJ_TREE:
            self.batch.append((oid, raw))
            if len(self.batch) >= BATCH_TREES:
                self._send(self.batch)
                self.batch = []

    def _send(self, message):
        try:
            self.conn.send(message)
        except (OSError, EOFError) as e:
            raise HelperFailed(str(e)) from None

    def finish(self, con, reader):
        if self.batch:
            self._send(self.batch)
            self.batch = []
        self._send(None)
        try:
            error = self.conn.recv()
        except (OSError, EOFError) as e:
            raise HelperFailed(str(e)) from None
        if error is not None:
            raise IngestError(error)
        return self.local.finish(con, reader)

    def close(self):
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
