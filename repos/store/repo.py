"""RepoStore: the one small wrapper the rest of Forge uses to reach a repository's SQLite file."""
from . import db
from .graph import CommitGraph
from .ingest import check_pack
from .objects import ObjectReader
from .push import RefUpdate, land_push
from .repack import repack


class RepoStore:
    def __init__(self, path, con, cache_bytes=64 << 20):
        self.path = str(path)
        self.con = con
        self.reader = ObjectReader(con, cache_bytes=cache_bytes)
        self.graph = CommitGraph(con)

    @classmethod
    def create(cls, path, default_branch="main"):
        db.create_schema(str(path), default_branch)
        return cls.open(path)

    @classmethod
    def open(cls, path, cache_bytes=64 << 20):
        return cls(path, db.connect(str(path)), cache_bytes=cache_bytes)

    def close(self):
        self.reader.close()
        self.con.close()

    def release(self):
        """End every read still open on the connection (see ObjectReader.release), so that the
        next use sees the database as it is then. Caches are kept."""
        self.reader.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- refs -------------------------------------------------------------------------------------
    def meta(self, key, default=None):
        row = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def head_ref(self):
        """The ref HEAD points at (a symref), whether or not that branch exists yet."""
        return self.meta("HEAD", "refs/heads/main")

    def set_head(self, ref):
        self.con.execute("UPDATE meta SET value=? WHERE key='HEAD'", (ref,))

    def refs(self):
        """[(name, oid, peeled or None)] sorted by name."""
        return self.con.execute("SELECT name, oid, peeled FROM refs ORDER BY name").fetchall()

    def ref(self, name):
        row = self.con.execute("SELECT oid FROM refs WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def is_empty(self):
        return self.con.execute("SELECT 1 FROM refs LIMIT 1").fetchone() is None

    # -- objects ----------------------------------------------------------------------------------
    def get(self, oid):
        return self.reader.get(oid)

    def has(self, oid):
        return self.reader.has(oid)

    # -- pushes -----------------------------------------------------------------------------------
    def check_pack(self, path):
        return check_pack(path, self.reader)

    def land_push(self, checked, updates, *, atomic=False):
        return land_push(self.con, self.reader, checked, updates, atomic=atomic, head_ref=self.head_ref())

    def is_clean(self):
        """True when every stored object is reachable and stored once (a full clone streams as is)."""
        return self.meta("clean") == "1"

    def repack(self, tmp_dir):
        return repack(self, tmp_dir)

    def stats(self):
        q = self.con.execute
        return {
            "packs": q("SELECT count(*) FROM packs").fetchone()[0],
            "objects": q("SELECT count(*) FROM objects").fetchone()[0],
            "refs": q("SELECT count(*) FROM refs").fetchone()[0],
            "commits": q("SELECT count(*) FROM commits").fetchone()[0],
            "pack_bytes": q("SELECT coalesce(sum(size), 0) FROM packs").fetchone()[0],
        }


__all__ = ["RepoStore", "RefUpdate"]
