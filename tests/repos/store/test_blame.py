"""Blame checked line by line against `git blame --porcelain` (commit, original line number and
original file name of every line): every file of the history fixture at main, files at older commits
and on a feature branch, and small repositories made with real git for the cases that are easy to
get wrong: a file moved with edits, lines moved within a file, duplicate lines (where several
minimal diffs exist and git's sliding decides), merges, a conflict resolved by hand, a missing final
newline, CRLF."""
import re
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from repos.store import RepoStore
from repos.store.blame import BlameRange, BlameTooLarge, blame, blame_parent
from repos.store.browse import NotFound
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, git_env, out

HEADER = re.compile(r"([0-9a-f]{40}) (\d+) (\d+)(?: \d+)?")


def git_blame(repo, rev, path):
    """git's answer: ([(commit hex, original line, original path)] per line,
    {(commit hex, path): (previous commit hex, previous path)})."""
    raw = subprocess.run(["git", "-C", str(repo), "blame", "--porcelain", rev, "--", path],
                         capture_output=True, check=True, env=git_env()).stdout
    names, previous, lines, current = {}, {}, [], None
    for line in raw.decode("utf-8", "surrogateescape").split("\n"):
        if line.startswith("\t"):
            lines.append((current[0], current[1], names[current[0]]))
        elif HEADER.fullmatch(line):
            m = HEADER.fullmatch(line)
            current = (m.group(1), int(m.group(2)))
        elif line.startswith("filename "):
            names[current[0]] = line[len("filename "):]
        elif line.startswith("previous "):
            pending = line.split(" ", 2)[1:]
            previous[current[0]] = tuple(pending)
    # "previous" precedes "filename" in a commit's details: key it by the commit's path
    return lines, {(c, names[c]): p for c, p in previous.items()}


def per_line(result):
    return [(r.commit.hex(), r.orig_start + k, r.orig_path) for r in result.ranges for k in range(r.count)]


def rev(repo, what):
    return bytes.fromhex(out("-C", repo, "rev-parse", what).strip())


def compare_files(store, repo, revision, paths):
    """Blame each path ours and git's way (git in two threads meanwhile); -> (files compared,
    lines compared, [mismatching paths]). Binary files are left out (we refuse them)."""
    commit = rev(repo, f"{revision}^{{commit}}")
    with ThreadPoolExecutor(2) as pool:
        theirs = {p: pool.submit(git_blame, repo, revision, p) for p in paths}
        files = lines = 0
        wrong = []
        for path in paths:
            try:
                result = blame(store, commit, path)
            except BlameTooLarge:
                theirs[path].cancel()
                continue
            expected = theirs[path].result()[0]
            files += 1
            lines += len(expected)
            check_shape(result)
            if per_line(result) != expected:
                wrong.append(path)
    return files, lines, wrong


def check_shape(result):
    """Ranges cover the lines in order, and adjacent ranges could not be one."""
    at = 1
    for before, r in zip([None] + result.ranges, result.ranges):
        assert r.start == at and r.count > 0
        at += r.count
        if before is not None:
            assert not (before.commit == r.commit and before.orig_path == r.orig_path
                        and before.orig_start + before.count == r.orig_start)
    assert at == len(result.lines) + 1


def ls_files(repo, revision):
    return out("-C", repo, "ls-tree", "-r", "--name-only", revision).splitlines()


def revisions_per_file(repo, revision):
    return Counter(out("-C", repo, "log", "--format=", "--name-only", revision).split())


def renamed_files(repo, revision):
    """New names of the files `git log` shows renamed on the way to `revision`."""
    text = out("-C", repo, "log", "--diff-filter=R", "--name-status", "--format=", revision)
    return [line.split("\t")[2] for line in text.splitlines() if line.startswith("R")]


# -- the history fixture ------------------------------------------------------------------------------
@pytest.fixture
def repo(store, tmp_path, history):
    mirror(store, tmp_path, history)
    return store


def test_every_file_at_main_matches_git(repo, history):
    paths = ls_files(history, "main")
    counts = revisions_per_file(history, "main")
    most_revised = sorted(paths, key=lambda p: -counts[p])[:10]
    renamed = [p for p in renamed_files(history, "main") if p in paths]
    assert renamed and counts[most_revised[0]] >= 3
    files, lines, wrong = compare_files(repo, history, "main", paths)
    assert wrong == []
    assert files >= len(paths) - 5 and lines > 100_000


def test_older_commits_and_a_feature_branch(repo, history):
    branch = out("-C", history, "for-each-ref", "--format=%(refname:short)", "--sort=-committerdate",
                 "refs/heads/feature/").split()[0]
    total = 0
    for revision in ("main~12", "main~60", "v1.0", branch):
        paths = ls_files(history, revision)
        counts = revisions_per_file(history, revision)
        touched = [p for p in paths if counts[p] > 1]       # the ones with a history to walk
        chosen = sorted(set(touched + [p for p in renamed_files(history, revision) if p in paths]
                            + paths[::25]))
        files, lines, wrong = compare_files(repo, history, revision, chosen)
        assert wrong == [], revision
        total += files
    assert total >= 240


def test_renamed_files_are_followed_to_their_old_names(repo, history):
    commit = rev(history, "main")
    checked = 0
    rename_commit = None
    for line in out("-C", history, "log", "--diff-filter=R", "--name-status", "--format=%H", "main").splitlines():
        if re.fullmatch(r"[0-9a-f]{40}", line):
            rename_commit = line
        elif line.startswith("R"):
            _, old, new = line.split("\t")
            result = blame(repo, commit, new)
            assert old in {r.orig_path for r in result.ranges}
            # blame at the parent of a range from the renaming commit finds the old name
            parent = blame_parent(repo, BlameRange(bytes.fromhex(rename_commit), new, 1, 1, 1))
            assert parent == (rev(history, f"{rename_commit}^"), old)
            checked += 1
    assert checked >= 2


def test_blame_parent_is_gits_previous(repo, history):
    """For every range whose commit is not a merge, blame_parent says what git's `previous` says
    (git's is the first parent that had the file; for a non-merge there is one)."""
    commit = rev(history, "main")
    counts = revisions_per_file(history, "main")
    everything = ls_files(history, "main")
    paths = sorted(everything, key=lambda p: -counts[p])[:25]
    paths += [p for p in renamed_files(history, "main") if p in everything]
    merges = set(out("-C", history, "rev-list", "--merges", "--all").split())
    compared = nones = 0
    for path in paths:
        previous = git_blame(history, "main", path)[1]
        for r in blame(repo, commit, path).ranges:
            if r.commit.hex() in merges:
                continue
            expected = previous.get((r.commit.hex(), r.orig_path))
            got = blame_parent(repo, r)
            assert got == (expected and (bytes.fromhex(expected[0]), expected[1])), (path, r)
            compared += 1
            nones += got is None
    assert compared > 50 and 0 < nones < compared


# -- small repositories made by hand --------------------------------------------------------------------
class Work:
    """A working repository whose commits get increasing dates."""

    def __init__(self, path):
        self.path = path
        self.when = 1_700_000_000
        git("init", "-q", "-b", "main", path)

    def git(self, *args, check=True):
        self.when += 3600
        date = f"{self.when} +0000"
        return git("-C", self.path, *args, check=check,
                   env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})

    def commit(self, message, files=None):
        for name, data in (files or {}).items():
            target = self.path / name
            if data is None:
                self.git("rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data if isinstance(data, bytes) else data.encode())
            self.git("add", name)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self, what="HEAD"):
        return rev(self.path, what)


@pytest.fixture
def work(tmp_path):
    return Work(tmp_path / "work")


def land(store, tmp_path, work):
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    mirror(store, spool, work.path)
    return store


def assert_same_as_git(store, work, revision="HEAD", paths=None):
    paths = paths or ls_files(work.path, revision)
    files, lines, wrong = compare_files(store, work.path, revision, paths)
    assert wrong == [] and files == len(paths)
    return blame(store, rev(work.path, revision), paths[0]) if len(paths) == 1 else None


def numbered(n, prefix="line"):
    return "".join(f"{prefix} {i}\n" for i in range(1, n + 1))


def test_file_moved_with_edits(store, tmp_path, work):
    lines = numbered(40).splitlines(keepends=True)
    first = work.commit("add app", {"src/app.py": "".join(lines), "src/other.py": "other\n"})
    lines[9] = "line 10 changed\n"
    second = work.commit("edit app", {"src/app.py": "".join(lines)})
    (work.path / "lib").mkdir()
    work.git("mv", "src/app.py", "lib/main.py")
    lines[4] = "line 5 changed in the move\n"
    lines.insert(20, "inserted in the move\n")
    (work.path / "lib/main.py").write_text("".join(lines))
    work.git("add", "lib/main.py")
    moved = work.commit("move app to lib/main.py, with edits")
    land(store, tmp_path, work)
    result = assert_same_as_git(store, work, paths=["lib/main.py"])
    by_line = {line: (r.commit, r.orig_path) for r in result.ranges for line in range(r.start, r.start + r.count)}
    assert by_line[1] == (first, "src/app.py")
    assert by_line[10] == (second, "src/app.py")
    assert by_line[5] == by_line[21] == (moved, "lib/main.py")
    moved_range = next(r for r in result.ranges if r.commit == moved)
    assert blame_parent(store, moved_range) == (second, "src/app.py")
    assert blame_parent(store, next(r for r in result.ranges if r.commit == first)) is None


def test_lines_moved_within_a_file(store, tmp_path, work):
    block_a, block_b = numbered(12, "alpha"), numbered(8, "beta")
    work.commit("two blocks", {"f.txt": block_a + "middle\n" + block_b})
    swapped = work.commit("swap them", {"f.txt": block_b + "middle\n" + block_a})
    land(store, tmp_path, work)
    result = assert_same_as_git(store, work, paths=["f.txt"])
    assert {r.commit for r in result.ranges} >= {swapped}      # without -M, one block is "new"


def test_duplicate_lines_slide_where_git_puts_them(store, tmp_path, work):
    functions = "".join(f"def f{i}(x):\n    if x:\n        return None\n    return x\n\n" for i in range(8))
    repeated = "x\n" * 600 + "end\n"          # longer than xdiff's 1 KiB tail trimming
    work.commit("start", {"code.py": "import os\n\n" + functions, "same.txt": repeated,
                          "blank.txt": "a\n\n\n\nb\n\n\nc\n", "lead.txt": "intro\n\n\nitem\n",
                          "close.c": "}\n}\n}\n\t}\nx\n"})
    # a new function between two others: the blank line and the repeated lines can go either side
    grown = functions.replace("def f4", "def new(x):\n    if x:\n        return None\n    return x\n\ndef f4")
    work.commit("add a function", {"code.py": "import os\n\n" + grown})
    # minimal diffs that put these blocks elsewhere exist: git's sliding and indent heuristic decide
    work.commit("one more x, one blank less", {"same.txt": "x\n" + repeated, "blank.txt": "a\n\n\nb\n\n\nc\n\n",
                                               "lead.txt": "intro\n\n\nitem\n\nitem\n",
                                               "close.c": "}\n\t}\n# note\nx\n"})
    work.commit("drop a function", {"code.py": "import os\n\n" + grown.replace(
        "def f2(x):\n    if x:\n        return None\n    return x\n\n", "")})
    work.commit("a duplicate of a duplicate", {"same.txt": "x\n" * 300 + "y\n" + "x\n" * 301 + "end\n"})
    land(store, tmp_path, work)
    for back in range(5):
        assert_same_as_git(store, work, f"HEAD~{back}", ls_files(work.path, f"HEAD~{back}"))


def test_merge_of_edits_to_different_parts(store, tmp_path, work):
    lines = numbered(30).splitlines(keepends=True)
    base = work.commit("base", {"f.txt": "".join(lines)})
    work.git("checkout", "-q", "-b", "side")
    side_lines = list(lines)
    side_lines[2] = "line 3 from the side\n"
    side = work.commit("side edits the top", {"f.txt": "".join(side_lines)})
    work.git("checkout", "-q", "main")
    main_lines = list(lines)
    main_lines[24] = "line 25 from main\n"
    main = work.commit("main edits the bottom", {"f.txt": "".join(main_lines)})
    work.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
    merge = work.head()
    land(store, tmp_path, work)
    result = assert_same_as_git(store, work, paths=["f.txt"])
    by_line = {line: r.commit for r in result.ranges for line in range(r.start, r.start + r.count)}
    assert (by_line[3], by_line[25], by_line[1], by_line[30]) == (side, main, base, base)
    assert merge not in by_line.values()


def test_merge_with_a_conflict_resolved_by_hand(store, tmp_path, work):
    lines = numbered(20).splitlines(keepends=True)
    work.commit("base", {"f.txt": "".join(lines)})
    work.git("checkout", "-q", "-b", "side")
    work.commit("side", {"f.txt": "".join(lines[:5] + ["side version\n"] + lines[6:])})
    work.git("checkout", "-q", "main")
    work.commit("main", {"f.txt": "".join(lines[:5] + ["main version\n"] + lines[6:] + ["tail\n"])})
    assert work.git("merge", "-q", "side", check=False).returncode != 0      # a conflict
    (work.path / "f.txt").write_text("".join(lines[:5] + ["resolved by hand\n"] + lines[6:] + ["tail\n"]))
    work.git("add", "f.txt")
    work.git("commit", "-q", "--no-edit")
    merge = work.head()
    land(store, tmp_path, work)
    result = assert_same_as_git(store, work, paths=["f.txt"])
    assert [r.start for r in result.ranges if r.commit == merge] == [6]
    assert result.lines[5] == "resolved by hand"


def test_missing_final_newline_and_crlf(store, tmp_path, work):
    work.commit("no newline at the end", {"plain.txt": "a\nb\nc", "dos.txt": b"one\r\ntwo\r\nthree\r\n",
                                          "cr.txt": b"lone\rcr\nx\n"})
    work.commit("end it", {"plain.txt": "a\nb\nc\nd", "dos.txt": b"one\r\nTWO\r\nthree\r\nfour"})
    work.commit("and again", {"plain.txt": "a\nB\nc\nd\n", "cr.txt": b"lone\rcr\nx\ny"})
    land(store, tmp_path, work)
    for back in range(3):
        assert_same_as_git(store, work, f"HEAD~{back}", ls_files(work.path, f"HEAD~{back}"))
    head = work.head()
    assert blame(store, head, "dos.txt").lines == ["one", "TWO", "three", "four"]
    assert blame(store, head, "cr.txt").lines == ["lone\rcr", "x", "y"]
    assert blame(store, head, "plain.txt").lines == ["a", "B", "c", "d"]


def test_refusals_and_empty_files(store, tmp_path, work):
    first = work.commit("files", {"dir/text.txt": "hello\n" * 50, "bin.dat": b"\x89PNG\0\0" + bytes(range(256)),
                                  "empty.txt": ""})
    land(store, tmp_path, work)
    for path in ("no/such/file", "dir", "dir/text.txt/deeper", ""):
        with pytest.raises(NotFound):
            blame(store, first, path)
    with pytest.raises(NotFound):
        blame(store, b"\1" * 20, "dir/text.txt")
    with pytest.raises(BlameTooLarge):
        blame(store, first, "bin.dat")
    with pytest.raises(BlameTooLarge):
        blame(store, first, "dir/text.txt", max_bytes=100)
    assert isinstance(BlameTooLarge(), ValueError)
    whole = blame(store, first, "/dir/text.txt/", max_bytes=300)
    assert (whole.path, whole.commit, len(whole.lines)) == ("dir/text.txt", first, 50)
    assert whole.ranges == [BlameRange(first, "dir/text.txt", 1, 1, 50)]
    assert blame_parent(store, whole.ranges[0]) is None                       # a root commit
    empty = blame(store, first, "empty.txt")
    assert (empty.lines, empty.ranges) == ([], [])


def test_a_store_reopened_gives_the_same_answer(store, tmp_path, work):
    work.commit("one", {"f.txt": numbered(10)})
    work.commit("two", {"f.txt": numbered(10).replace("line 4\n", "four\n")})
    land(store, tmp_path, work)
    with RepoStore.open(store.path) as again:
        assert blame(again, work.head(), "f.txt") == blame(store, work.head(), "f.txt")
