"""Code search (repos/store/search*.py) against real git.

- Literal queries give exactly the (path, line number, line text) that `git grep -n -F -I` (and `-i`)
  gives at the same commit, over all pages, with counts; binary and >1 MiB files are left out of both
  sides (git grep -I skips binaries; the one large file is dropped from git's side) and the results say so.
- Word, phrase, @path: and @ext: queries agree with `git grep -w -i` on the lines they return.
- Commit queries find commits by author and message words.
- After a series of pushes (edits, renames, deletions, duplicated content, a force-push rewriting
  history, an empty tree, a branch with '/' in its name), the incrementally updated index holds the
  same rows (files, blobs, skipped files, trigram vocabulary with document counts) as a full rebuild.
- FTS5 syntax in a query (quotes, NEAR, *, -, column filters) never errors and is searched as text.
"""
import re
import shutil
import sqlite3
import subprocess

import pytest

from repos.store import RepoStore
from repos.store.search import (index_commits, index_stats, indexed_commit, parse_query, rebuild_index,
                                search_code, search_commits, sync_index, update_index)
from tests.repos.store.helpers import mirror, pack_of, push
from tests.support.gitcli import git, git_env, out
from tests.support.sources import make_test_repo

LARGE_PATH = "big/large.txt"
GREP_RECORD = re.compile(rb"[^:\0]*:([^\0]*)\0(\d+)\0([^\n]*)\n")


def git_grep(repo, rev, pattern, *flags, paths=()):
    """{(path, line number): line text} as `git grep -n -F -I` finds it at `rev`."""
    proc = subprocess.run(["git", "-C", str(repo), "grep", "-n", "-z", "-I", *flags, "-e", pattern, rev, "--", *paths],
                          capture_output=True, env=git_env())
    assert proc.returncode in (0, 1), proc.stderr
    found = {}
    large = large_files(repo, rev)
    for m in GREP_RECORD.finditer(proc.stdout):
        path = m.group(1).decode("utf-8", "replace")
        if path not in large:
            found[(path, int(m.group(2)))] = m.group(3).decode("utf-8", "replace")
    return found


def large_files(repo, rev):
    """Paths of the files over 1 MiB at `rev` (git grep has no size limit; the index skips them)."""
    listing = out("-C", repo, "ls-tree", "-r", "-l", "-z", rev).split("\0")
    return {entry.split("\t", 1)[1] for entry in listing
            if entry and entry.split()[1] == "blob" and int(entry.split()[3]) > 1 << 20}


def all_hits(store, text, per_page=500):
    """{(path, line): LineHit} over every page (no per-file line cap), and the first page's results."""
    query = parse_query(text)
    hits, page, first = {}, 1, None
    while True:
        results = search_code(store, query, page=page, per_page=per_page, max_lines=10 ** 6)
        first = first or results
        for f in results.files:
            assert f.more_lines == 0
            for line in f.lines:
                hits[(f.path, line.number)] = line
        if page >= results.pages:
            break
        page += 1
    assert first.total_lines == len(hits)
    assert first.total_files == len({path for path, _ in hits})
    return hits, first


@pytest.fixture(scope="module")
def work(history, tmp_path_factory):
    """A clone of the history with a binary file and a file over 1 MiB added on main."""
    root = tmp_path_factory.mktemp("search")
    wt = root / "wt"
    git("clone", "-q", str(history), str(wt))
    (wt / "big").mkdir()
    (wt / "big" / "image.bin").write_bytes(b"GIF89a\0\0def __init__(self)\n" * 10)
    (wt / LARGE_PATH).write_text("def __init__(self):\n    return settings.DEBUG\n" * 25000)
    # Not UTF-8 (content and a path), CRLF line ends, no final newline, a NUL after git's 8000-byte probe.
    (wt / "big" / "latin1.txt").write_bytes(b"caf\xe9 QuerySet\nna\xefve def __init__(self)\n")
    with open(bytes(wt / "big") + b"/na\xefve-path.py", "wb") as f:
        f.write(b"import re\r\nclass QuerySet:  # def\r\n")
    (wt / "big" / "no-newline.py").write_bytes(b"x = 1\nself.value = 'import re'")
    (wt / "big" / "late-nul.txt").write_bytes(b"a\n" * 5000 + b"def \0 QuerySet\n")
    git("-C", wt, "add", "big")
    git("-C", wt, "commit", "-q", "-m", "Add a binary and a large file")
    return wt


@pytest.fixture(scope="module")
def indexed(work, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("store")
    store = RepoStore.create(tmp / "repo.sqlite3")
    mirror(store, tmp, work)
    stats = rebuild_index(store, store.ref("refs/heads/main"))
    index_commits(store)
    assert stats.skipped_binary >= 2 and stats.skipped_large == 1  # history has a binary of its own
    yield store
    store.close()


def literals_from(work):
    """Deterministic literals of every kind, taken from the repository's own text."""
    text = out("-C", work, "show", "main:utils/functional.py") + out("-C", work, "show", "main:db/models/query.py")
    idents = sorted(set(re.findall(r"\b[a-z]+_[a-z_]+\b", text)))[::25][:8]
    dotted = sorted(set(re.findall(r"\b\w+\.\w+\b", text)))[::40][:6]
    calls = sorted(set(re.findall(r"\b\w+\(", text)))[::40][:6]
    return idents + dotted + calls + ["def", "self.", "(),", "_", "q", "(", "z.", "QuerySet", "__init__(self",
                                      "import re", "no such string anywhere_", " = ", "NEAR(", '"""', "*"]


@pytest.mark.parametrize("case", ["sensitive", "insensitive"])
def test_literals_equal_git_grep(indexed, work, case):
    for literal in literals_from(work):
        flags = ["-F"] + (["-i"] if case == "insensitive" else [])
        expected = git_grep(work, "main", literal, *flags)
        hits, first = all_hits(indexed, f"case:{'yes' if case == 'sensitive' else 'no'} lit:{literal}")
        assert set(hits) == set(expected), literal
        for key, line in hits.items():
            assert line.text == expected[key]
            for start, end in line.spans:
                fragment = line.text[start:end]
                assert fragment == literal if case == "sensitive" else fragment.lower() == literal.lower()
        assert first.skipped_note and "binary" in first.skipped_note and "over 1 MiB" in first.skipped_note


def test_pages_cover_every_hit_once(indexed, work):
    for literal in ["get_", "QuerySet", "(*"]:
        by_seven, first = all_hits(indexed, "lit:" + literal, per_page=7)
        assert first.pages > 1 or literal == "(*"
        assert set(by_seven) == set(all_hits(indexed, "lit:" + literal)[0])


def test_symbols_make_a_literal_query(indexed, work):
    for text in ["self.assert", "get_queryset", "super(", "Meta:", '"foo.bar"']:
        q = parse_query(text)
        assert q.literal == text.strip('"') and q.kind == "code"
    hits, _ = all_hits(indexed, "__init__(self")
    assert set(hits) == set(git_grep(work, "main", "__init__(self", "-F", "-i"))


def test_words_and_phrases(indexed, work):
    for word in ["queryset", "Import", "self", "lazy", "xyzzy"]:
        hits, _ = all_hits(indexed, word, per_page=50)
        assert set(hits) == set(git_grep(work, "main", word, "-F", "-w", "-i")), word
    for word in ["QuerySet", "queryset"]:
        hits, _ = all_hits(indexed, "case:yes " + word, per_page=50)
        assert hits and set(hits) == set(git_grep(work, "main", word, "-F", "-w")), word
    hits, _ = all_hits(indexed, '"import os"', per_page=50)
    expected = git_grep(work, "main", "import os", "-F", "-w", "-i")
    assert expected and set(expected) <= set(hits)
    assert all(re.search(r"(?i)\bimport[ \t]+os\b", line.text) for line in hits.values())
    # Several words: files holding all of them; lines holding any.
    hits, first = all_hits(indexed, "lazy queryset", per_page=50)
    both = {p for p, _ in git_grep(work, "main", "lazy", "-F", "-w", "-i")} & \
        {p for p, _ in git_grep(work, "main", "queryset", "-F", "-w", "-i")}
    assert {p for p, _ in hits} == both


def test_path_and_ext_filters(indexed, work):
    hits, _ = all_hits(indexed, "@path:db/models/ lit:def __", per_page=50)
    assert hits and set(hits) == set(git_grep(work, "main", "def __", "-F", "-i", paths=["db/models/"]))
    hits, _ = all_hits(indexed, "@ext:html request", per_page=50)
    assert hits and set(hits) == set(git_grep(work, "main", "request", "-F", "-i", "-w", paths=["*.html"]))
    hits, _ = all_hits(indexed, "@ext:py @path:contrib/auth/ lit:password", per_page=50)
    assert hits and set(hits) == set(git_grep(work, "main", "password", "-F", "-i", paths=["contrib/auth/*.py"]))
    _, first = all_hits(indexed, "@path:db/ lit:class")
    assert first.skipped_note is None  # nothing skipped under db/


def test_per_file_line_cap(indexed):
    results = search_code(indexed, parse_query("lit:self"), per_page=5)
    capped = [f for f in results.files if f.more_lines]
    assert capped and all(len(f.lines) == 20 and f.total_lines == 20 + f.more_lines for f in capped)


def test_commit_search(indexed, work):
    q = parse_query("@author:ada")
    assert q.kind == "commits"
    results = search_commits(indexed, q, per_page=1000)
    expected = set(out("-C", work, "rev-list", "--all", "-i", "--author=ada").split())
    assert {h.oid.hex() for h in results.hits} == expected and results.total == len(expected)
    # The author's last word matches as a prefix; name and email both count.
    prefix = search_commits(indexed, parse_query("@author:lovel"), per_page=1000)
    assert {h.oid.hex() for h in prefix.hits} == set(out("-C", work, "rev-list", "--all", "-i",
                                                          "--author=lovel").split())
    by_email = search_commits(indexed, parse_query("@author:ada@example.org"), per_page=1000)
    assert by_email.total and all(h.author_email == "ada@example.org" for h in by_email.hits)
    results = search_commits(indexed, parse_query("@message:merge"), per_page=1000)
    messages = dict(line.split(" ", 1) for line in out("-C", work, "log", "--all", "--format=%H %s").splitlines())
    # Whole-word matches in the full message, as FTS5's unicode61 tokenizer splits words.
    full = {oid: out("-C", work, "log", "-1", "--format=%B", oid) for oid in messages}
    expected = {oid for oid, body in full.items() if re.search(r"(?i)(?<![^\W_])merge(?![^\W_])", body)}
    assert expected and {h.oid.hex() for h in results.hits} == expected
    assert all(h.excerpt[s:e].lower() == "merge" for h in results.hits for s, e in h.spans)
    # Pages are newest first and do not overlap.
    one = search_commits(indexed, parse_query("@message:merge"), page=1, per_page=3)
    two = search_commits(indexed, parse_query("@message:merge"), page=2, per_page=3)
    assert not {h.oid for h in one.hits} & {h.oid for h in two.hits}


HOSTILE = ['"', '""', '"unterminated', 'NEAR(a b, 2)', 'a NEAR b', '*', 'foo*', '-foo', 'content:foo',
           'message:foo', '{content}: x', '^start', 'a AND OR NOT b', '(', ')', "'", "\\", "%", "_%",
           '@author:"', '@message:NEAR(x', '@author:*', '@path:', '@ext:', 'lit:', 'case:yes', '@path:"a b" "c',
           'x' * 3000, '\x00', 'é', 'ß"*', '@author:a" OR "b', 'lit:" OR content:*']


def test_hostile_input_is_text(indexed, work):
    for text in HOSTILE:
        q = parse_query(text)
        search_code(indexed, q)
        search_commits(indexed, q)
    for literal in ['NEAR(', '"*', 'x:y', "':", "(*)"]:
        hits, _ = all_hits(indexed, "lit:" + literal, per_page=100)
        assert set(hits) == set(git_grep(work, "main", literal, "-F", "-i"))


# -- incremental updates -------------------------------------------------------------------------
def snapshot(store):
    con = store.con
    con.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab USING fts5vocab(main, search_trigram, 'row')")
    con.execute("INSERT INTO search_trigram (search_trigram) VALUES ('integrity-check')")
    return {
        "commit": indexed_commit(store),
        "files": sorted(con.execute("SELECT f.path, b.oid, f.ext FROM search_files f"
                                    " JOIN search_blobs b ON b.id = f.blob_id").fetchall()),
        "blobs": sorted(con.execute("SELECT oid, refs, content FROM search_blobs").fetchall()),
        "skipped": sorted(con.execute("SELECT path, oid, reason FROM search_skipped").fetchall()),
        "vocab": sorted(con.execute("SELECT term, doc FROM temp.search_vocab").fetchall()),
    }


def rebuilt_snapshot(store, commit, tmp_path):
    copy_path = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}.sqlite3"
    dest = sqlite3.connect(copy_path)
    store.con.backup(dest)
    dest.close()
    with RepoStore.open(copy_path) as copy:
        rebuild_index(copy, commit)
        return snapshot(copy)


class Pusher:
    def __init__(self, store, wt, tmp_path):
        self.store, self.wt, self.tmp = store, wt, tmp_path
        self.pushed = {}

    def push(self, ref="refs/heads/main", rev="HEAD"):
        new = bytes.fromhex(out("-C", self.wt, "rev-parse", rev).strip())
        old = self.store.ref(ref)
        revs = [new.hex()] + ["^" + oid.hex() for _, oid, _ in self.store.refs()]
        pk = self.tmp / "packs"
        pk.mkdir(exist_ok=True)
        outcome = push(self.store, pk, pack_of(self.wt, *revs), {ref: (old, new)})
        assert [u.error for u in outcome.updates if u.error] == []
        return old, new


def commit_all(wt, message):
    git("-C", wt, "add", "-A")
    git("-C", wt, "commit", "-q", "--allow-empty", "-m", message)


def test_incremental_equals_rebuild(tmp_path):
    # A smaller history than the `history` fixture (each step is compared with a full rebuild).
    source = make_test_repo(tmp_path / "small.git", 80, "--max-files", "400")
    wt = tmp_path / "wt"
    git("clone", "-q", str(source), str(wt))
    store = RepoStore.create(tmp_path / "repo.sqlite3")
    mirror(store, tmp_path, source)
    files = sorted(out("-C", wt, "ls-files").splitlines())
    py = [f for f in files if f.endswith(".py") and "/" in f]
    edited, renamed, deleted = py[:3], py[3], py[4]
    doomed_dir = sorted({f.rsplit("/", 1)[0] for f in py[5:]})[-1]
    pusher = Pusher(store, wt, tmp_path)
    main = store.ref("refs/heads/main")
    rebuild_index(store, main)
    index_commits(store)
    copies = tmp_path / "copies"
    copies.mkdir()

    def check(old, new):
        assert indexed_commit(store) == old  # so update_index takes the incremental path, not a rebuild
        update_index(store, old, new)
        index_commits(store)
        assert indexed_commit(store) == new
        assert snapshot(store) == rebuilt_snapshot(store, new, copies)
        if new is not None:
            for literal in ["def ", "_meta", "edited line", "import"]:
                hits, _ = all_hits(store, "lit:" + literal, per_page=200)
                assert set(hits) == set(git_grep(wt, new.hex(), literal, "-F", "-i"))

    def step(message, change):
        change(wt)
        commit_all(wt, message)
        old, new = pusher.push()
        check(old, new)

    def edits(w):
        for rel in edited:
            p = w / rel
            p.write_text(p.read_text().replace("import", "import  # edited line", 2) + "\nedited line\n")
        (w / "new_module.py").write_text("def new_function_name():\n    return 'edited line'\n")
    step("edits", edits)

    def renames(w):
        (w / "renamed" / "deeper").mkdir(parents=True)
        git("-C", w, "mv", renamed, "renamed/deeper/moved.py")
        git("-C", w, "mv", "new_module.py", "moved.txt")
    step("renames", renames)

    def deletions(w):
        git("-C", w, "rm", "-q", "-r", doomed_dir)
        git("-C", w, "rm", "-q", deleted)
        (w / "blob.bin").write_bytes(b"\0\1\2 binary")
        (w / "large.txt").write_text("import x\n" * 200000)
    step("deletions, a binary and a large file", deletions)

    def duplicates(w):
        shutil.copy(w / "moved.txt", w / "copy1.txt")
        shutil.copy(w / "moved.txt", w / "copy2.txt")
        (w / "large.txt").write_text("small now, import\n")   # large -> indexed
        (w / "blob.bin").write_text("text now, def \n")       # binary -> text
    step("the same content at several paths", duplicates)

    def drop_one_copy(w):
        (w / "copy1.txt").unlink()
        (w / "moved.txt").write_text("changed\n")
    step("drop a copy", drop_one_copy)

    # A force-push rewriting history: main back three commits, a different commit on top.
    git("-C", wt, "reset", "-q", "--hard", "HEAD~3")
    (wt / "rewritten.py").write_text("def rewritten():\n    pass  # edited line\n")
    commit_all(wt, "rewritten history")
    old, new = pusher.push()
    check(old, new)

    # An empty tree, and back.
    git("-C", wt, "rm", "-q", "-r", ".")
    commit_all(wt, "empty tree")
    old, new = pusher.push()
    check(old, new)
    assert search_code(store, parse_query("lit:def")).total_files == 0
    git("-C", wt, "checkout", "-q", "HEAD~1", "--", ".")
    commit_all(wt, "everything back")
    old, new = pusher.push()
    check(old, new)

    # A branch with '/' in its name: the index can follow any ref (sync_index), incrementally.
    git("-C", wt, "checkout", "-q", "-b", "feature/search")
    (wt / "feature.py").write_text("feature_only_string = 1\n")
    commit_all(wt, "feature")
    before = indexed_commit(store)
    old, new = pusher.push("refs/heads/feature/search")
    assert old is None
    sync_index(store, "refs/heads/feature/search")
    assert indexed_commit(store) == new
    assert snapshot(store) == rebuilt_snapshot(store, new, copies)
    assert search_code(store, parse_query("feature_only_string")).total_files == 1

    # The index is not where the caller thinks: update_index rebuilds instead.
    update_index(store, before, before)
    assert indexed_commit(store) == before
    assert snapshot(store) == rebuilt_snapshot(store, before, copies)
    update_index(store, before, None)
    assert indexed_commit(store) is None and snapshot(store)["files"] == []
    update_index(store, None, new)
    assert snapshot(store) == rebuilt_snapshot(store, new, copies)
    store.close()


def test_index_stats_and_sync(history, store, tmp_path):
    refs = mirror(store, tmp_path, history)
    some = [refs["refs/heads/main"], store.graph.node(refs["refs/heads/main"]).parents[0]]
    assert index_commits(store, some) == 2 and index_commits(store, some) == 0
    assert search_commits(store, parse_query("@author:a")).total <= 2
    stats = sync_index(store)
    assert indexed_commit(store) == store.ref("refs/heads/main")
    sizes = index_stats(store)
    assert sizes["files"] == stats.files and sizes["commits"] == store.stats()["commits"]
    assert 0 < sizes["index_bytes"] < sizes["store_bytes"]
    assert sync_index(store).files == 0  # nothing new


def test_searching_an_unindexed_store(history, store, tmp_path):
    mirror(store, tmp_path, history)
    assert search_code(store, parse_query("lit:def")).total_files == 0
    assert search_commits(store, parse_query("@author:ada")).total == 0
    assert store.con.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'search%'").fetchone()[0] == 0


def test_scan_cap_keeps_the_page_and_flags_the_totals(indexed):
    query = parse_query("lit:import")
    full = search_code(indexed, query, page=2)
    capped = search_code(indexed, query, page=2, max_scan_bytes=1)
    assert full.exact and not capped.exact
    assert capped.files == full.files and capped.total_files == 40 < full.total_files


def test_parse_query():
    q = parse_query('@path:db/models/ @ext:.PY case:yes foo "bar  baz" qux')
    assert (q.kind, q.path_prefix, q.ext, q.case_sensitive) == ("code", "db/models/", "py", True)
    assert q.terms == ["foo", "qux"] and q.phrases == ["bar baz"] and q.literal is None
    assert parse_query("x  =  self.y @ext:py").literal == "x  =  self.y"
    assert parse_query('"foo.bar"').literal == "foo.bar"
    assert parse_query("@ext:py lit: two  spaces ").literal == " two  spaces "
    assert parse_query("lit:@path:x").literal == "@path:x" and parse_query("lit:@path:x").path_prefix is None
    assert parse_query("get_queryset").literal == "get_queryset"
    q = parse_query('@author:"Ada Lovelace" @message:fix bug')
    assert (q.kind, q.author, q.message, q.terms) == ("commits", "Ada Lovelace", "fix", ["bug"])
    assert parse_query("").empty and parse_query("@path:x/").empty
