"""StorePool: a store borrowed again sees what changed in the file since it was last given back,
even when another connection (another worker process, a push) changed it."""
import sqlite3

from repos.store.browse import read_blob, resolve_commit
from repos.store.pool import StorePool
from tests.repos.store.helpers import mirror
from tests.support.gitcli import out


def _move_main(path, oid):
    # Another connection, as another worker process landing a push would be.
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("UPDATE refs SET oid=? WHERE name='refs/heads/main'", (oid,))
    finally:
        con.close()


def test_a_pooled_store_sees_a_ref_moved_by_another_connection_after_reading_objects(store, history, tmp_path):
    mirror(store, tmp_path, history)
    path = store.path
    store.close()
    pool = StorePool()
    tip = bytes.fromhex(out("-C", history, "rev-parse", "main").strip())
    parent = bytes.fromhex(out("-C", history, "rev-parse", "main~1").strip())
    some_file = out("-C", history, "ls-tree", "-r", "--name-only", "main").split()[0]
    with pool.borrow(path) as pooled:
        assert pooled.ref("refs/heads/main") == tip
        # Reading objects opens blob handles on the pack chunks: each is a read in progress.
        read_blob(pooled, resolve_commit(pooled, "main")[1], some_file)
    _move_main(path, parent)
    with pool.borrow(path) as pooled:
        assert pooled.ref("refs/heads/main") == parent
        read_blob(pooled, resolve_commit(pooled, "main")[1], some_file)
    _move_main(path, tip)
    with pool.borrow(path) as pooled:
        assert pooled.ref("refs/heads/main") == tip
    pool.close()
