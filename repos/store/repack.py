"""Repacking: every reachable object copied (never recompressed) into one new pack, the rest
dropped. Afterwards the store is "clean" again, so a full clone streams it as it is.

Runs without holding the write lock; the swap happens in one short transaction and is abandoned
if a push landed meanwhile (the next repack will do). The new pack is indexed and checked like a
push before it replaces anything, so a bug here cannot lose an object."""
import os
import tempfile

from .graph import CommitGraph
from .ingest import check_pack
from .objects import MissingObject, ObjectReader
from .objectset import ObjectEnumerator
from .packformat import OBJ_COMMIT, OBJ_TAG
from .packgen import write_pack
from .push import store_pack


class RepackAbandoned(Exception):
    pass


def reachable_objects(store):
    """The ObjectSet of everything reachable from the refs (and HEAD)."""
    enum = ObjectEnumerator(store, want_client_bases=False)
    tips = []
    for _name, oid, _peeled in store.refs():
        while True:
            info = store.reader.info(oid)
            if info is None:
                raise RepackAbandoned(f"ref target {oid.hex()} is missing")
            if info[0] == OBJ_TAG:
                enum.result.add(oid)
                oid = store.reader.tag_target(oid)
                continue
            if info[0] == OBJ_COMMIT:
                tips.append(oid)
            else:
                enum.add_explicit(oid, info[0])
            break
    commits = store.graph.walk_excluding(tips, ())
    enum.add_commits(commits, set(commits))
    return enum.result


def _state(con):
    return (
        con.execute("SELECT coalesce(max(id), 0), count(*) FROM packs").fetchone(),
        con.execute("SELECT name, oid FROM refs ORDER BY name").fetchall(),
    )


def repack(store, tmp_dir):
    """Rewrite the store's packs as one; returns (objects kept, objects dropped)."""
    con = store.con
    con.execute("BEGIN")  # a read snapshot: what we enumerate and copy stays put
    try:
        before = _state(con)
        objects = reachable_objects(store)
        fd, path = tempfile.mkstemp(prefix="repack-", suffix=".pack", dir=tmp_dir)
        with os.fdopen(fd, "wb") as f:
            for chunk in write_pack(store, objects):
                f.write(chunk)
        total = con.execute("SELECT count(*) FROM objects").fetchone()[0]
    finally:
        store.reader.close()  # blob handles would pin the snapshot and block the write below
        con.execute("COMMIT")
    try:
        checked = check_pack(path, _NoExternal())
        if set(checked.types) != objects.seen:
            raise RepackAbandoned("the new pack does not hold exactly the reachable objects")
        con.execute("BEGIN IMMEDIATE")
        try:
            if _state(con) != before:
                raise RepackAbandoned("a push landed while repacking")
            con.execute("DELETE FROM pack_chunks")
            con.execute("DELETE FROM objects")
            con.execute("DELETE FROM packs")
            store_pack(con, checked)
            # Commits that are gone must not count as "common" in a later fetch negotiation.
            con.execute("CREATE TEMP TABLE IF NOT EXISTS kept (oid BLOB PRIMARY KEY) WITHOUT ROWID")
            con.execute("DELETE FROM temp.kept")
            con.executemany("INSERT INTO temp.kept (oid) VALUES (?)",
                            ((oid,) for oid, type_num in checked.types.items() if type_num == OBJ_COMMIT))
            con.execute("DELETE FROM commit_paths WHERE commit_oid NOT IN (SELECT oid FROM temp.kept)")
            con.execute("DELETE FROM commits WHERE oid NOT IN (SELECT oid FROM temp.kept)")
            con.execute("UPDATE meta SET value='1' WHERE key='clean'")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        os.unlink(path)
    store.reader.close()
    store.reader = ObjectReader(con)
    store.graph = CommitGraph(con)
    return len(checked.entries), total - len(checked.entries)


class _NoExternal:
    """A repacked pack is complete: any delta base outside it is a bug, not a thin pack."""

    def get(self, oid):
        raise MissingObject(oid.hex())
