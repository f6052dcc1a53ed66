"""Landing a push: every ref of one push moves in one SQLite transaction, compare-and-swap checked,
with the pack, its objects and the commit index written in that same transaction, or nothing."""
import os
import time
from dataclasses import dataclass

from .commit_index import commit_index_rows, insert_commit_index
from .db import CHUNK_SIZE, chunk_rowid
from .graph import CommitGraph
from .packformat import OBJ_COMMIT, ZERO_OID

# How long landing waits for the store's write lock while another push, merge or API write holds
# it, before it gives up ("database is locked") and the push is refused with nothing changed: the
# connection's busy timeout (db.py, 120 s) unless FORGE_STORE_LOCK_TIMEOUT (seconds) says otherwise.
LOCK_TIMEOUT_VARIABLE = "FORGE_STORE_LOCK_TIMEOUT"


def _wait_for_the_lock_at_most(con):
    value = os.environ.get(LOCK_TIMEOUT_VARIABLE, "").strip()
    if value:
        con.execute(f"PRAGMA busy_timeout = {max(0, int(float(value) * 1000))}")


@dataclass
class RefUpdate:
    name: str
    old: bytes
    new: bytes
    error: str | None = None   # None while the update may still go through

    @property
    def is_delete(self):
        return self.new == ZERO_OID

    @property
    def is_create(self):
        return self.old == ZERO_OID


@dataclass
class PushOutcome:
    updates: list
    new_head: str | None = None     # set when this push made the first branch the default
    stored_pack: bool = False
    clean: bool = True              # False: the store now holds unreachable or duplicate objects


def _object_type(con, checked, oid):
    if checked is not None and oid in checked.types:
        return checked.types[oid]
    row = con.execute("SELECT type FROM objects WHERE oid=?", (oid,)).fetchone()
    return row[0] if row else None


def _name_clash(con, name, created):
    """A ref that `name` cannot live beside, as in git (a file and a directory of one name):
    refs/heads/a blocks refs/heads/a/b and the other way round."""
    parts = name.split("/")
    for i in range(2, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in created or con.execute("SELECT 1 FROM refs WHERE name=?", (prefix,)).fetchone():
            return prefix
    below = con.execute("SELECT name FROM refs WHERE name > ? AND name < ? LIMIT 1",
                        (name + "/", name + "0")).fetchone()  # '0' sorts right after '/'
    if below:
        return below[0]
    return next((other for other in created if other.startswith(name + "/")), None)


def store_pack(con, checked):
    """Write a checked pack into the store (inside the caller's transaction); -> its pack id."""
    pack_id = con.execute(
        "INSERT INTO packs (size, object_count, duplicates, checksum, created_at) VALUES (?, ?, 0, ?, ?)",
        (checked.size, len(checked.entries), checked.checksum, int(time.time())),
    ).lastrowid
    with open(checked.path, "rb") as f:
        seq = 0
        while block := f.read(CHUNK_SIZE):
            con.execute("INSERT INTO pack_chunks (id, data) VALUES (?, ?)", (chunk_rowid(pack_id, seq), block))
            seq += 1
    before = con.total_changes
    con.executemany(
        "INSERT INTO objects (oid, pack_id, offset, length, type, size) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT(oid) DO NOTHING",
        ((oid, pack_id, offset, length, type_num, size) for oid, offset, length, type_num, size in checked.entries),
    )
    duplicates = len(checked.entries) - (con.total_changes - before)
    if duplicates:
        con.execute("UPDATE packs SET duplicates=? WHERE id=?", (duplicates, pack_id))
        con.execute("UPDATE meta SET value='0' WHERE key='clean'")
    return pack_id


def _missing_objects(con, checked, updates):
    new = set(checked.types) if checked is not None else set()
    outside = (checked.needed - new) if checked is not None else set()
    outside.update(u.new for u in updates if u.error is None and not u.is_delete and u.new not in new)
    return [oid for oid in outside if con.execute("SELECT 1 FROM objects WHERE oid=?", (oid,)).fetchone() is None]


def land_push(con, reader, checked, updates, *, atomic, head_ref):
    """Apply `updates` (RefUpdate list; entries with `error` already set are skipped) with the
    checked pack. Returns a PushOutcome; on any failure nothing at all is written."""
    # Open blob handles (from resolving thin deltas) pin an old read snapshot, and a connection
    # cannot take the write lock from a stale snapshot: SQLite would answer "locked" at once
    # instead of waiting its turn.
    reader.close()
    _wait_for_the_lock_at_most(con)
    con.execute("BEGIN IMMEDIATE")
    try:
        current = {}
        for u in updates:
            if u.error:
                continue
            row = con.execute("SELECT oid FROM refs WHERE name=?", (u.name,)).fetchone()
            current[u.name] = row[0] if row else ZERO_OID
            if current[u.name] != u.old:
                u.error = "failed to update ref: it moved since you fetched (fetch first)"
                continue
            if u.is_create:
                clash = _name_clash(con, u.name, [o.name for o in updates if o is not u and o.is_create])
                if clash:
                    u.error = f"cannot lock ref '{u.name}': '{clash}' exists"
                    continue
            if not u.is_delete:
                kind = _object_type(con, checked, u.new)
                if kind is None:
                    u.error = "missing necessary objects"
                elif u.name.startswith("refs/heads/") and kind != OBJ_COMMIT:
                    u.error = "trying to write non-commit object to branch"
        if atomic and any(u.error for u in updates):
            for u in updates:
                u.error = u.error or "atomic push failed"
        live = [u for u in updates if u.error is None]
        if not live:
            con.execute("ROLLBACK")
            return PushOutcome(updates)

        stored = False
        if checked is not None and checked.entries:
            store_pack(con, checked)
            stored = True
        missing = _missing_objects(con, checked, live)
        if missing:
            con.execute("ROLLBACK")
            for u in updates:
                u.error = u.error or f"missing necessary objects ({missing[0].hex()})"
            return PushOutcome(updates)
        if checked is not None:
            new_commits = {oid: record for oid, record in checked.commits.items()
                           if con.execute("SELECT 1 FROM commits WHERE oid=?", (oid,)).fetchone() is None}
            insert_commit_index(con, *commit_index_rows(con, reader, new_commits, checked.trees))

        graph = CommitGraph(con)
        had_branches = con.execute("SELECT 1 FROM refs WHERE name LIKE 'refs/heads/%' LIMIT 1").fetchone()
        rewound = False
        for u in live:
            if u.is_delete:
                con.execute("DELETE FROM refs WHERE name=?", (u.name,))
                rewound = True
                continue
            if not u.is_create and not graph.is_ancestor(u.old, u.new):
                rewound = True
            peeled = reader.peel(u.new)
            con.execute(
                "INSERT INTO refs (name, oid, peeled) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET oid=excluded.oid, peeled=excluded.peeled",
                (u.name, u.new, peeled if peeled != u.new else None),
            )
        if rewound or (stored and any(u.error for u in updates)):
            # Something may now be unreachable: full clones take the careful path until a repack.
            con.execute("UPDATE meta SET value='0' WHERE key='clean'")

        new_head = None
        if not had_branches:
            created = [u.name for u in live if u.name.startswith("refs/heads/") and not u.is_delete]
            if created and head_ref not in created:
                new_head = created[0]
            elif created:
                new_head = head_ref
            if new_head:
                con.execute("UPDATE meta SET value=? WHERE key='HEAD'", (new_head,))
        clean = con.execute("SELECT value FROM meta WHERE key='clean'").fetchone()[0] == "1"
        con.execute("COMMIT")
        return PushOutcome(updates, new_head=new_head, stored_pack=stored, clean=clean)
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
