"""The commit index, filled when a push lands: parents, generation, people, message, changed paths."""
import re
from binascii import unhexlify

from .trees import TreeCache, changed_paths

_IDENT = re.compile(rb"^(.*?)\s*<([^>]*)>\s*$")


def split_identity(ident):
    m = _IDENT.match(ident)
    if not m:
        return ident.decode("utf-8", "replace"), ""
    return m.group(1).decode("utf-8", "replace"), m.group(2).decode("utf-8", "replace")


def commit_record(commit):
    """What the index keeps of a parsed dulwich Commit (generation is filled in later)."""
    author_name, author_email = split_identity(commit.author)
    committer_name, committer_email = split_identity(commit.committer)
    return {
        "tree": unhexlify(commit.tree),
        "parents": tuple(unhexlify(p) for p in commit.parents),
        "author_name": author_name,
        "author_email": author_email,
        "author_time": commit.author_time,
        "author_tz": commit.author_timezone // 60,
        "committer_name": committer_name,
        "committer_email": committer_email,
        "committer_time": commit.commit_time,
        "committer_tz": commit.commit_timezone // 60,
        "message": commit.message.decode("utf-8", "replace"),
    }


def _generations(con, records):
    """Generation of every new commit; parents are new commits or already indexed."""
    known = {}

    def stored(oid):
        row = con.execute("SELECT generation FROM commits WHERE oid=?", (oid,)).fetchone()
        return row[0] if row else None

    for start in records:
        if start in known:
            continue
        stack = [start]
        while stack:
            oid = stack[-1]
            if oid in known:
                stack.pop()
                continue
            pending = [p for p in records[oid]["parents"] if p in records and p not in known]
            if pending:
                stack.extend(pending)
                continue
            best = 0
            for p in records[oid]["parents"]:
                g = known.get(p) if p in records else stored(p)
                best = max(best, g or 0)
            known[oid] = best + 1
            stack.pop()
    return known


def index_commits(con, reader, records, parsed_trees=None):
    """Insert `records` ({oid: commit_record}) with generations and first-parent changed paths.
    Runs inside the push's transaction, reading trees through `reader` (new objects included)."""
    if not records:
        return
    generations = _generations(con, records)
    con.executemany(
        "INSERT OR IGNORE INTO commits (oid, tree, parents, generation, author_name, author_email,"
        " author_time, author_tz, committer_name, committer_email, committer_time, committer_tz, message)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                oid, r["tree"], b"".join(r["parents"]), generations[oid], r["author_name"], r["author_email"],
                r["author_time"], r["author_tz"], r["committer_name"], r["committer_email"],
                r["committer_time"], r["committer_tz"], r["message"],
            )
            for oid, r in records.items()
        ],
    )
    trees = TreeCache(reader, seed=parsed_trees)
    path_ids = {}

    def path_id(path):
        pid = path_ids.get(path)
        if pid is None:
            row = con.execute("SELECT id FROM paths WHERE path=?", (path,)).fetchone()
            if row is None:
                pid = con.execute("INSERT INTO paths (path) VALUES (?)", (path,)).lastrowid
            else:
                pid = row[0]
            path_ids[path] = pid
        return pid

    rows = []
    for oid, r in records.items():
        parent_tree = None
        if r["parents"]:
            first = r["parents"][0]
            parent_tree = records[first]["tree"] if first in records else _stored_tree(con, first)
        for path in changed_paths(trees, parent_tree, r["tree"]):
            rows.append((path_id(path), oid))
        if len(rows) > 50000:
            con.executemany("INSERT OR IGNORE INTO commit_paths (path_id, commit_oid) VALUES (?, ?)", rows)
            rows.clear()
    con.executemany("INSERT OR IGNORE INTO commit_paths (path_id, commit_oid) VALUES (?, ?)", rows)


def _stored_tree(con, oid):
    row = con.execute("SELECT tree FROM commits WHERE oid=?", (oid,)).fetchone()
    return row[0] if row else None
