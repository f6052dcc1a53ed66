"""The repository's SQLite file: schema and connections.

Packs are kept as git sent them, split into fixed-size chunks (SQLite caps a value at 1 GB, and a
chunk row is read with an incremental blob handle, so random access into a pack stays cheap).
Objects are an index into those packs. Refs, the HEAD symref and the commit index sit beside them.
"""
import os
import sqlite3

CHUNK_SIZE = 1 << 20
CHUNK_ROWID_SHIFT = 24  # rowid of a chunk = pack_id << 24 | seq: found without a lookup
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE packs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: caches and chunk rowids key on it
    size INTEGER NOT NULL,          -- bytes, header and trailer included
    object_count INTEGER NOT NULL,  -- entries in the pack
    duplicates INTEGER NOT NULL,    -- entries whose object an older pack already held
    checksum BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE pack_chunks (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE objects (
    oid BLOB PRIMARY KEY,
    pack_id INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,        -- the entry's bytes in its pack, header included
    type INTEGER NOT NULL,          -- 1 commit, 2 tree, 3 blob, 4 tag (resolved, never a delta type)
    size INTEGER NOT NULL           -- inflated object size
) WITHOUT ROWID;
CREATE TABLE refs (name TEXT PRIMARY KEY, oid BLOB NOT NULL, peeled BLOB) WITHOUT ROWID;
CREATE TABLE commits (
    oid BLOB PRIMARY KEY,
    tree BLOB NOT NULL,
    parents BLOB NOT NULL,          -- parent oids, 20 bytes each, in order
    generation INTEGER NOT NULL,    -- 1 + the largest generation of the parents
    author_name TEXT NOT NULL, author_email TEXT NOT NULL,
    author_time INTEGER NOT NULL, author_tz INTEGER NOT NULL,      -- tz in minutes east of UTC
    committer_name TEXT NOT NULL, committer_email TEXT NOT NULL,
    committer_time INTEGER NOT NULL, committer_tz INTEGER NOT NULL,
    message TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE paths (id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE);  -- raw bytes: git paths need not be UTF-8
CREATE TABLE commit_paths (
    path_id INTEGER NOT NULL,
    commit_oid BLOB NOT NULL,
    PRIMARY KEY (path_id, commit_oid)
) WITHOUT ROWID;
"""


def chunk_rowid(pack_id, seq):
    return (pack_id << CHUNK_ROWID_SHIFT) | seq


def connect(path, *, create=False):
    if not create and not os.path.exists(path):
        raise FileNotFoundError(path)
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
    con = sqlite3.connect(path, timeout=120, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("PRAGMA cache_size=-16384")
    return con


def create_schema(path, default_branch):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if os.path.exists(path):
        raise FileExistsError(path)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA page_size=16384")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("BEGIN")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        con.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("schema", str(SCHEMA_VERSION)), ("HEAD", f"refs/heads/{default_branch}"), ("clean", "1")],
        )
        con.execute("COMMIT")
    finally:
        con.close()
