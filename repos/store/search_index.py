"""Code search index, kept inside the repository's own SQLite file (issue 6).

Layout (all tables prefixed `search_`, created lazily by `ensure_schema`):

- `search_blobs(id, oid, refs, content)`: the bytes of every indexed blob at the indexed commit, ONCE
  per blob (files with the same content share a row; `refs` counts the paths using it). Reading a
  file's text from here is much faster than inflating it from a pack.
- `search_files(path, blob_id, ext)`: the files of the indexed commit (path as raw bytes, its
  lower-cased extension for `@ext:`), a row per indexed path.
- `search_skipped(path, oid, reason)`: files left out, reason 'binary' (a NUL in the first 8000
  bytes, git's rule) or 'large' (over 1 MiB), so that results can say so.
- `search_trigram`: FTS5, trigram tokenizer (case folded), contentless (content=''), detail=none;
  rowid = search_blobs.id. Only "which blobs contain this trigram" is stored, which keeps it small;
  a query ANDs the trigrams of its strings to get candidate blobs, then the text is checked exactly.
- `search_commits(id, oid)` + `search_commit_text` (FTS5 unicode61: message, author "name email"),
  for every commit in the store's `commits` table.
- `search_meta(key, value)`: 'commit' = the commit the file tables reflect (absent: nothing indexed).

Regular files (modes 100644/100755/100664) are indexed, as `git grep` greps them; symlinks and
submodules are not. Matching runs on the raw bytes, as git grep does (ASCII case folding, ASCII word
characters); the trigram index is given the text decoded as UTF-8 (invalid bytes become U+FFFD),
which only ever makes the candidate set larger, never smaller.
"""
from dataclasses import dataclass

from .packformat import OBJ_BLOB
from .trees import TreeCache, changed_paths, is_tree

MAX_FILE_BYTES = 1 << 20   # files over 1 MiB are not indexed
BINARY_PROBE = 8000        # git's buffer_is_binary looks for a NUL in the first 8000 bytes
INDEXED_MODES = frozenset({0o100644, 0o100755, 0o100664})

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value BLOB)",
    "CREATE TABLE IF NOT EXISTS search_blobs (id INTEGER PRIMARY KEY, oid BLOB NOT NULL UNIQUE,"
    " refs INTEGER NOT NULL, content BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS search_files (path BLOB PRIMARY KEY, blob_id INTEGER NOT NULL,"
    " ext TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS search_files_ext ON search_files (ext, path)",
    "CREATE TABLE IF NOT EXISTS search_skipped (path BLOB PRIMARY KEY, oid BLOB NOT NULL,"
    " reason TEXT NOT NULL) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_trigram USING fts5(content, content='', detail=none,"
    " tokenize='trigram')",
    "CREATE TABLE IF NOT EXISTS search_commits (id INTEGER PRIMARY KEY, oid BLOB NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_commit_text USING fts5(message, author,"
    " tokenize='unicode61')",
]


@dataclass
class IndexStats:
    files: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0
    bytes: int = 0          # bytes of text indexed (UTF-8 as stored in git)


def has_schema(con):
    """True once ensure_schema ran (searching never creates tables: it may run on a read-only path)."""
    return con.execute("SELECT 1 FROM sqlite_master WHERE name='search_commit_text'").fetchone() is not None


def ensure_schema(con):
    if has_schema(con):
        return
    with _transaction(con):
        for statement in SCHEMA:
            con.execute(statement)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, unless the caller already holds a transaction."""

    def __init__(self, con):
        self.con = con
        self.own = False

    def __enter__(self):
        if not self.con.in_transaction:
            self.con.execute("BEGIN IMMEDIATE")
            self.own = True

    def __exit__(self, exc_type, *exc):
        if self.own:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def _write_transaction(store):
    """_transaction on the store's connection, after letting go of its open blob reads: each one pins
    the connection to the database as it was when opened, and a write lock asked for from such a stale
    snapshot is refused at once ("database is locked") if a push landed since, busy timeout or not."""
    if not store.con.in_transaction:
        store.release()
    return _transaction(store.con)


def indexed_commit(store):
    """The commit the file index reflects, or None (nothing indexed, or an empty tree's None)."""
    ensure_schema(store.con)
    row = store.con.execute("SELECT value FROM search_meta WHERE key='commit'").fetchone()
    return row[0] if row else None


def _is_indexed(con):
    return con.execute("SELECT 1 FROM search_meta WHERE key='commit'").fetchone() is not None


def _set_commit(con, commit):
    con.execute("INSERT OR REPLACE INTO search_meta (key, value) VALUES ('commit', ?)", (commit,))


def _tree_of(store, commit):
    if commit is None:
        return None
    row = store.con.execute("SELECT tree FROM commits WHERE oid=?", (commit,)).fetchone()
    if row:
        return row[0]
    return store.graph.node(commit).tree


def _walk_files(trees, tree, prefix=b""):
    """(path, mode, oid) of every non-tree entry under `tree`."""
    if tree is None:
        return
    for name, (mode, oid) in trees.entries(tree).items():
        if is_tree(mode):
            yield from _walk_files(trees, oid, prefix + name + b"/")
        else:
            yield prefix + name, mode, oid


def _extension(path):
    base = path.rsplit(b"/", 1)[-1]
    if b"." not in base.lstrip(b"."):
        return ""
    return base.rsplit(b".", 1)[1].decode("utf-8", "replace").lower()


class _Writer:
    """Adds and removes paths, sharing blob rows between paths with the same content."""

    def __init__(self, store, stats):
        self.store = store
        self.con = store.con
        self.stats = stats

    def add(self, path, mode, oid):
        if mode not in INDEXED_MODES:
            return
        con = self.con
        row = con.execute("SELECT id FROM search_blobs WHERE oid=?", (oid,)).fetchone()
        if row:
            con.execute("UPDATE search_blobs SET refs=refs+1 WHERE id=?", (row[0],))
            con.execute("INSERT INTO search_files (path, blob_id, ext) VALUES (?, ?, ?)",
                        (path, row[0], _extension(path)))
            self.stats.files += 1
            return
        info = self.store.reader.info(oid)
        if info is None or info[0] != OBJ_BLOB:
            return
        if info[1] > MAX_FILE_BYTES:
            con.execute("INSERT INTO search_skipped (path, oid, reason) VALUES (?, ?, 'large')", (path, oid))
            self.stats.skipped_large += 1
            return
        data = self.store.get(oid)[1]
        if b"\0" in data[:BINARY_PROBE]:
            con.execute("INSERT INTO search_skipped (path, oid, reason) VALUES (?, ?, 'binary')", (path, oid))
            self.stats.skipped_binary += 1
            return
        blob_id = con.execute("INSERT INTO search_blobs (oid, refs, content) VALUES (?, 1, ?)",
                              (oid, data)).lastrowid
        con.execute("INSERT INTO search_trigram (rowid, content) VALUES (?, ?)", (blob_id, fts_text(data)))
        con.execute("INSERT INTO search_files (path, blob_id, ext) VALUES (?, ?, ?)",
                    (path, blob_id, _extension(path)))
        self.stats.files += 1
        self.stats.bytes += len(data)

    def remove(self, path):
        con = self.con
        con.execute("DELETE FROM search_skipped WHERE path=?", (path,))
        row = con.execute("SELECT blob_id FROM search_files WHERE path=?", (path,)).fetchone()
        if not row:
            return
        con.execute("DELETE FROM search_files WHERE path=?", (path,))
        blob_id = row[0]
        refs, data = con.execute("SELECT refs, content FROM search_blobs WHERE id=?", (blob_id,)).fetchone()
        if refs > 1:
            con.execute("UPDATE search_blobs SET refs=refs-1 WHERE id=?", (blob_id,))
            return
        # A contentless FTS5 table forgets a row only when told the exact text it indexed.
        con.execute("INSERT INTO search_trigram (search_trigram, rowid, content) VALUES ('delete', ?, ?)",
                    (blob_id, fts_text(data)))
        con.execute("DELETE FROM search_blobs WHERE id=?", (blob_id,))


def fts_text(data):
    """What the trigram index is given for a blob's bytes (the same at insert and delete). FTS5 stops
    reading text at a NUL (a text file may hold one after git's 8000-byte probe): NULs become
    U+FFFD, and queries never ask for a trigram holding either."""
    return data.decode("utf-8", "replace").replace("\0", "\ufffd")


def rebuild_index(store, commit):
    """Index the files of `commit` (None: an empty index) from scratch. -> IndexStats."""
    con = store.con
    ensure_schema(con)
    stats = IndexStats()
    trees = TreeCache(store.reader)
    with _write_transaction(store):
        for table in ("search_files", "search_blobs", "search_skipped"):
            con.execute(f"DELETE FROM {table}")
        con.execute("INSERT INTO search_trigram (search_trigram) VALUES ('delete-all')")
        writer = _Writer(store, stats)
        for path, mode, oid in sorted(_walk_files(trees, _tree_of(store, commit))):
            writer.add(path, mode, oid)
        _set_commit(con, commit)
    return stats


def update_index(store, old_commit, new_commit):
    """Move the index from `old_commit` to `new_commit`, touching only the paths that differ
    between their trees. If the index does not reflect `old_commit`, rebuild it. -> IndexStats of
    what was added."""
    con = store.con
    ensure_schema(con)
    if not _is_indexed(con) or indexed_commit(store) != old_commit:
        return rebuild_index(store, new_commit)
    stats = IndexStats()
    if old_commit == new_commit:
        return stats
    trees = TreeCache(store.reader)
    old_tree, new_tree = _tree_of(store, old_commit), _tree_of(store, new_commit)
    with _write_transaction(store):
        writer = _Writer(store, stats)
        for path in sorted(changed_paths(trees, old_tree, new_tree)):
            writer.remove(path)
            entry = _lookup(trees, new_tree, path)
            if entry is not None:
                writer.add(path, *entry)
        _set_commit(con, new_commit)
    return stats


def _lookup(trees, tree, path):
    """(mode, oid) of the non-tree entry at `path` in `tree`, or None."""
    parts = path.split(b"/")
    for part in parts[:-1]:
        if tree is None:
            return None
        entry = trees.entries(tree).get(part)
        tree = entry[1] if entry and is_tree(entry[0]) else None
    if tree is None:
        return None
    entry = trees.entries(tree).get(parts[-1])
    return entry if entry and not is_tree(entry[0]) else None


def sync_index(store, ref=None):
    """Bring the file index to the tip of `ref` (default: the HEAD branch) and index new commits:
    the one call to make after a push lands. -> IndexStats."""
    ensure_schema(store.con)
    target = store.ref(ref or store.head_ref())
    stats = update_index(store, indexed_commit(store), target)
    index_commits(store)
    return stats


def needs_sync(store, ref=None):
    """Whether sync_index(store, ref) has anything to do: the file index is not at the ref's tip,
    or the commit index does not hold as many commits as the store. Only reads, so a search can
    ask on every request without taking the write lock."""
    con = store.con
    target = store.ref(ref or store.head_ref())
    if not has_schema(con):
        return target is not None or con.execute("SELECT 1 FROM commits LIMIT 1").fetchone() is not None
    if indexed_commit(store) != target or (target is not None and not _is_indexed(con)):
        return True
    held = con.execute("SELECT count(*) FROM commits").fetchone()[0]
    return held != con.execute("SELECT count(*) FROM search_commits").fetchone()[0]


def index_commits(store, oids=None):
    """Index the message and author of the commits in `oids` (None: every commit in the store)
    that are not indexed yet; with None, also forget commits the store no longer holds.
    -> the number of commits added."""
    con = store.con
    ensure_schema(con)
    with _write_transaction(store):
        if oids is None:
            rows = con.execute(
                "SELECT c.oid, c.message, c.author_name, c.author_email FROM commits c"
                " WHERE NOT EXISTS (SELECT 1 FROM search_commits s WHERE s.oid = c.oid)").fetchall()
            gone = con.execute("SELECT id FROM search_commits s WHERE NOT EXISTS"
                               " (SELECT 1 FROM commits c WHERE c.oid = s.oid)").fetchall()
            for (row_id,) in gone:
                con.execute("DELETE FROM search_commit_text WHERE rowid=?", (row_id,))
                con.execute("DELETE FROM search_commits WHERE id=?", (row_id,))
        else:
            rows = []
            for oid in oids:
                if con.execute("SELECT 1 FROM search_commits WHERE oid=?", (oid,)).fetchone():
                    continue
                row = con.execute("SELECT oid, message, author_name, author_email FROM commits WHERE oid=?",
                                  (oid,)).fetchone()
                if row:
                    rows.append(row)
        for oid, message, name, email in rows:
            row_id = con.execute("INSERT INTO search_commits (oid) VALUES (?)", (oid,)).lastrowid
            con.execute("INSERT INTO search_commit_text (rowid, message, author) VALUES (?, ?, ?)",
                        (row_id, message, f"{name} {email}"))
    return len(rows)


def index_stats(store):
    """Sizes: {'index_bytes', 'content_bytes', 'store_bytes', 'files', 'blobs', 'skipped',
    'commits', 'tables': {name: bytes}}. Sizes from SQLite's dbstat (pages actually used)."""
    con = store.con
    ensure_schema(con)
    tables = {}
    for name, size in con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        tables[name] = size
    index_bytes = sum(size for name, size in tables.items() if name.startswith(("search_", "sqlite_autoindex_search")))
    q = con.execute
    return {
        "index_bytes": index_bytes,
        "store_bytes": sum(tables.values()),
        "content_bytes": q("SELECT coalesce(sum(length(content)), 0) FROM search_blobs").fetchone()[0],
        "files": q("SELECT count(*) FROM search_files").fetchone()[0],
        "blobs": q("SELECT count(*) FROM search_blobs").fetchone()[0],
        "skipped": q("SELECT count(*) FROM search_skipped").fetchone()[0],
        "commits": q("SELECT count(*) FROM search_commits").fetchone()[0],
        "tables": {name: size for name, size in tables.items() if name.startswith("search_")},
    }
