"""Repacking: every reachable object copied (never recompressed) into one new pack, the rest
dropped — except objects stored without a ref (the git-data API's, marked by objectwrite) within
UNREACHABLE_GRACE_SECONDS of their last write (git's gc.pruneExpire, two weeks, counted from the
object's freshened mtime): a client stores a blob, then a tree, then a commit, and only then moves
a ref, so a repack in between must not lose the blob. Those (and what they need) go into a second
pack; their marks keep their age. What a push left unreachable (a force push) is dropped at once,
as before, so the store is "clean" again afterwards and a full clone streams it as it is.

Runs without holding the write lock; the swap happens in one short transaction and is abandoned
if a push landed meanwhile (the next repack will do). The new pack is indexed and checked like a
push before it replaces anything, so a bug here cannot lose an object."""
import os
import tempfile
import time

from .graph import CommitGraph
from .ingest import check_pack
from .objects import MissingObject, ObjectReader
from .objectset import ObjectEnumerator, ObjectSet
from .objectwrite import has_marks
from .packformat import OBJ_COMMIT, OBJ_TAG, OBJ_TREE
from .packgen import write_pack
from .push import store_pack
from .trees import MODE_GITLINK, tree_entries

UNREACHABLE_GRACE_SECONDS = 14 * 24 * 3600


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
        # An API write that only re-marked objects the store had (no new pack) counts too.
        con.execute("SELECT count(*), coalesce(max(written_at), 0) FROM unreferenced_objects").fetchone()
        if has_marks(con) else None,
    )


def _points_at(store, oid):
    """The objects `oid` needs (a commit's tree and parents, a tree's entries, a tag's target)."""
    try:
        type_num, raw = store.get(oid)
    except MissingObject:
        return []
    if type_num == OBJ_COMMIT:
        header = raw.split(b"\n\n", 1)[0].split(b"\n")
        return [bytes.fromhex(line.split(b" ", 1)[1].decode()) for line in header
                if line.startswith((b"tree ", b"parent "))]
    if type_num == OBJ_TREE:
        return [entry_oid for mode, _, entry_oid in tree_entries(raw) if mode != MODE_GITLINK]
    if type_num == OBJ_TAG:
        return [store.reader.tag_target(oid)]
    return []


def recent_unreachable(store, reachable, since):
    """The ObjectSet of objects to keep although nothing reaches them: those stored without a ref
    (objectwrite's marks) at or after `since` (seconds since the epoch), and what they need."""
    kept = ObjectSet()
    if not has_marks(store.con):
        return kept
    for (oid,) in store.con.execute("SELECT oid FROM unreferenced_objects WHERE written_at >= ?", (since,)):
        if oid not in reachable.seen and store.reader.info(oid) is not None:
            kept.add(oid)
    # As git keeps what a recent unreachable object needs, however old: a kept commit whose
    # parent or tree went would be a broken object.
    pending = list(kept.oids)
    while pending:
        for needed in _points_at(store, pending.pop()):
            if needed not in reachable.seen and needed not in kept.seen and store.reader.info(needed):
                kept.add(needed)
                pending.append(needed)
    return kept


def _write(store, objects, tmp_dir, paths):
    fd, path = tempfile.mkstemp(prefix="repack-", suffix=".pack", dir=tmp_dir)
    paths.append(path)
    with os.fdopen(fd, "wb") as f:
        for chunk in write_pack(store, objects):
            f.write(chunk)
    return path


def repack(store, tmp_dir, *, grace_seconds=UNREACHABLE_GRACE_SECONDS, now=None):
    """Rewrite the store's packs as one, plus one of the unreachable objects still within their
    grace (recent_unreachable); returns (objects kept, objects dropped)."""
    con = store.con
    since = (time.time() if now is None else now) - grace_seconds
    paths = []
    try:
        con.execute("BEGIN")  # a read snapshot: what we enumerate and copy stays put
        try:
            before = _state(con)
            objects = reachable_objects(store)
            path = _write(store, objects, tmp_dir, paths)
            recent = recent_unreachable(store, objects, since)
            recent_path = _write(store, recent, tmp_dir, paths) if recent.oids else None
            total = con.execute("SELECT count(*) FROM objects").fetchone()[0]
        finally:
            store.reader.close()  # blob handles would pin the snapshot and block the write below
            con.execute("COMMIT")
        checked = check_pack(path, _NoExternal())
        if set(checked.types) != objects.seen:
            raise RepackAbandoned("the new pack does not hold exactly the reachable objects")
        packs = [checked]
        if recent_path:
            packs.append(check_pack(recent_path, _NoExternal()))
            if set(packs[1].types) != recent.seen:
                raise RepackAbandoned("the kept pack does not hold exactly the recent unreachable objects")
        con.execute("BEGIN IMMEDIATE")
        try:
            if _state(con) != before:
                raise RepackAbandoned("a push landed while repacking")
            con.execute("DELETE FROM pack_chunks")
            con.execute("DELETE FROM objects")
            con.execute("DELETE FROM packs")
            for pack in packs:
                store_pack(con, pack)
            if has_marks(con):
                con.execute("DELETE FROM unreferenced_objects WHERE written_at < ?", (since,))
            # Commits that are gone must not count as "common" in a later fetch negotiation.
            # Kept unreachable commits keep their index rows: a ref may still be moved to them.
            con.execute("CREATE TEMP TABLE IF NOT EXISTS kept (oid BLOB PRIMARY KEY) WITHOUT ROWID")
            con.execute("DELETE FROM temp.kept")
            for pack in packs:
                con.executemany("INSERT INTO temp.kept (oid) VALUES (?)",
                                ((oid,) for oid, type_num in pack.types.items() if type_num == OBJ_COMMIT))
            con.execute("DELETE FROM commit_paths WHERE commit_oid NOT IN (SELECT oid FROM temp.kept)")
            con.execute("DELETE FROM commits WHERE oid NOT IN (SELECT oid FROM temp.kept)")
            # Kept unreachable objects mean a full clone may not stream the packs as they are.
            con.execute("UPDATE meta SET value=? WHERE key='clean'", ("0" if recent.oids else "1",))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for leftover in paths:
            os.unlink(leftover)
    store.reader.close()
    store.reader = ObjectReader(con)
    store.graph = CommitGraph(con)
    kept_count = sum(len(pack.entries) for pack in packs)
    return kept_count, total - kept_count


class _NoExternal:
    """A repacked pack is complete: any delta base outside it is a bug, not a thin pack."""

    def get(self, oid):
        raise MissingObject(oid.hex())
