"""The commit index, filled when a push lands: parents, generation, people, message, changed paths."""
import re
from binascii import unhexlify

from .trees import TreeCache, changed_paths

# What `git fsck` requires of a commit's head: the tree, any parents, then author and committer as
# "Name <email> seconds +hhmm" (no zero-padded seconds, a four-digit zone). Other headers
# (encoding, gpgsig, mergetag) may follow before the blank line.
_IDENT = rb"([^<>\n]*) <([^<>\n]*)> (0|[1-9][0-9]{0,18}) ([+-])([0-9]{2})([0-9]{2})\n"
_COMMIT_HEAD = re.compile(
    rb"tree ([0-9a-f]{40})\n((?:parent [0-9a-f]{40}\n)*)author " + _IDENT + rb"committer " + _IDENT)


class BadCommit(ValueError):
    pass


def parse_commit(raw):
    """Check a raw commit as `git fsck` would and return what the index keeps of it (the
    generation is filled in later). Raises BadCommit."""
    m = _COMMIT_HEAD.match(raw)
    if m is None:
        raise BadCommit("malformed commit header (tree, parents, author, committer)")
    rest = raw[m.end():]
    if rest.startswith(b"\n"):
        headers, message = b"", rest[1:]
    else:
        end = rest.find(b"\n\n")
        headers, message = (rest, b"") if end < 0 else (rest[:end + 1], rest[end + 2:])
        if headers and not headers.endswith(b"\n"):
            raise BadCommit("unterminated header line")
    if b"\0" in raw[:m.end()] or b"\0" in headers:
        raise BadCommit("NUL byte in the commit header")
    g = m.groups()
    parents = g[1]
    return {
        "tree": unhexlify(g[0]),
        "parents": tuple(unhexlify(parents[i + 7:i + 47]) for i in range(0, len(parents), 48)),
        "author_name": g[2].decode("utf-8", "replace").strip(),
        "author_email": g[3].decode("utf-8", "replace"),
        "author_time": int(g[4]),
        "author_tz": _minutes(g[5], g[6], g[7]),
        "committer_name": g[8].decode("utf-8", "replace").strip(),
        "committer_email": g[9].decode("utf-8", "replace"),
        "committer_time": int(g[10]),
        "committer_tz": _minutes(g[11], g[12], g[13]),
        "message": message.decode("utf-8", "replace"),
    }


def _minutes(sign, hours, minutes):
    value = int(hours) * 60 + int(minutes)
    return -value if sign == b"-" else value


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


def commit_index_rows(con, reader, records, parsed_trees=None):
    """What the index gains from new commits `records` ({oid: parse_commit record}):
    (commit rows, (path, commit oid) rows of first-parent changed paths). Runs in the push's
    transaction once its objects are stored and known to be complete, reading trees through
    `reader` (`parsed_trees`: the push's trees, parsed while they were checked)."""
    generations = _generations(con, records)
    commit_rows = [
        (oid, r["tree"], b"".join(r["parents"]), generations[oid], r["author_name"], r["author_email"],
         r["author_time"], r["author_tz"], r["committer_name"], r["committer_email"],
         r["committer_time"], r["committer_tz"], r["message"])
        for oid, r in records.items()
    ]
    trees = TreeCache(reader, known=parsed_trees)
    path_rows = []
    for oid, r in records.items():
        parent_tree = None
        if r["parents"]:
            first = r["parents"][0]
            parent_tree = records[first]["tree"] if first in records else _stored_tree(con, first)
        path_rows.extend([(path, oid) for path in changed_paths(trees, parent_tree, r["tree"])])
    return commit_rows, path_rows


def insert_commit_index(con, commit_rows, path_rows):
    """Write rows from commit_index_rows (inside the push's transaction)."""
    con.executemany(
        "INSERT OR IGNORE INTO commits (oid, tree, parents, generation, author_name, author_email,"
        " author_time, author_tz, committer_name, committer_email, committer_time, committer_tz, message)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        commit_rows,
    )
    path_ids = {}
    for path in {path for path, _ in path_rows}:
        row = con.execute("SELECT id FROM paths WHERE path=?", (path,)).fetchone()
        path_ids[path] = row[0] if row else con.execute("INSERT INTO paths (path) VALUES (?)", (path,)).lastrowid
    con.executemany(
        "INSERT OR IGNORE INTO commit_paths (path_id, commit_oid) VALUES (?, ?)",
        ((path_ids[path], oid) for path, oid in path_rows),
    )


def _stored_tree(con, oid):
    row = con.execute("SELECT tree FROM commits WHERE oid=?", (oid,)).fetchone()
    return row[0] if row else None
