"""History from the commit index, checked against real git: rev-list order and counts, log pages
(by page number and by cursor), path history with git's merge simplification, --follow across
renames, the author filter, the last commit of tree entries, merge bases (criss-cross included),
ahead/behind and base..head."""
import os
import random

import pytest

from repos.store import RepoStore
from repos.store import history as history_module
from repos.store.history import (ahead_behind, commit_info, commit_infos, commits_between, count_commits,
                                 last_commits, log_order, log_page, merge_base, merge_bases)
from tests.repos.store.helpers import mirror, pack_of, push
from tests.support.gitcli import git, out

EPOCH = 1_700_000_000


# -- repositories --------------------------------------------------------------------------------

def _mirrored(tmp_path_factory, source):
    where = tmp_path_factory.mktemp("store")
    store = RepoStore.create(where / "repo.sqlite3")
    mirror(store, where, source)
    return store


@pytest.fixture(scope="module")
def repo(tmp_path_factory, history):
    store = _mirrored(tmp_path_factory, history)
    yield store
    store.close()


class Work:
    """A work tree whose commits get the dates we choose (so orders and ties are ours to set)."""

    def __init__(self, path):
        self.path = path
        self.when = EPOCH
        git("init", "-q", "-b", "main", path)

    def run(self, *args, when=None):
        if when is None:
            self.when += 100
            when = self.when
        date = f"@{when} +0100"
        return out("-C", self.path, *args, env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})

    def write(self, files):
        for name, content in files.items():
            full = os.path.join(self.path, name)
            if content is None:
                os.remove(full)
                continue
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)

    def commit(self, message, files=None, when=None, author=None):
        self.write(files or {})
        self.run("add", "-A")
        extra = ["--author", author] if author else []
        self.run("commit", "-q", "--allow-empty", "-m", message, *extra, when=when)
        return self.head()

    def head(self):
        return out("-C", self.path, "rev-parse", "HEAD").strip()


def _lines(tag, n):
    return "".join(f"{tag} line {i}: some text that makes the line long enough\n" for i in range(n))


def build_merges(path):
    """Real merges (a merge TREESAME to its second parent, an evil merge differing from both, an
    `-s ours` merge, an octopus), renames (exact, across directories, and with edits), copies (edited,
    and of an empty file), a file deleted and added again, equal commit dates and a commit dated
    before its parent."""
    w = Work(path)
    w.commit("start", {"a.txt": "a\n", "keep.txt": "k\n", "d/x.txt": "x\n", "d/y.txt": _lines("y", 30),
                       "big.txt": _lines("big", 60), "gone.txt": "g\n", "deep/er/f.txt": "f\n"})
    w.run("checkout", "-q", "-b", "topic")
    w.commit("topic: a", {"a.txt": "a on topic\n"})
    w.commit("topic: z", {"d/z.txt": "z\n", "deep/er/f.txt": "f on topic\n"})
    w.run("checkout", "-q", "main")
    w.commit("main: keep", {"keep.txt": "k2\n"})
    w.run("merge", "-q", "--no-ff", "-m", "merge topic", "topic")            # TREESAME to topic for a.txt
    w.run("checkout", "-q", "-b", "side")
    w.commit("side: x", {"d/x.txt": "x on side\n"})
    w.run("checkout", "-q", "main")
    w.commit("main: x", {"d/x.txt": "x on main\n"})
    git("-C", path, "merge", "-q", "--no-commit", "side", check=False)        # conflicts on d/x.txt
    w.write({"d/x.txt": "x resolved, unlike both\n"})
    w.run("add", "-A")
    w.run("commit", "-q", "-m", "evil merge of side")
    w.run("checkout", "-q", "-b", "ours")
    w.commit("ours: gone", {"gone.txt": "g on ours\n"})
    w.run("checkout", "-q", "main")
    w.run("merge", "-q", "-s", "ours", "-m", "merge ours, keeping ours", "ours")
    w.run("mv", "big.txt", "big2.txt")
    w.write({"big2.txt": _lines("big", 60).replace("line 7:", "line seven:").replace("line 30:", "LINE 30:")})
    w.commit("rename big with edits")
    os.makedirs(os.path.join(path, "e"), exist_ok=True)
    w.run("mv", "d/y.txt", "e/y-moved.txt")
    w.commit("move y")
    w.commit("edit moved y", {"e/y-moved.txt": _lines("y", 30) + "more\n"}, author="Ada Lovelace <ada@example.org>")
    w.commit("drop gone", {"gone.txt": None})
    w.commit("gone again", {"gone.txt": "a new gone\n"})
    tie = w.when + 100
    w.run("checkout", "-q", "-b", "tie")
    w.commit("tie: one", {"t1.txt": "1\n"}, when=tie)
    w.commit("tie: two", {"t2.txt": "2\n"}, when=tie)
    w.run("checkout", "-q", "main")
    w.commit("main at the same second", {"t3.txt": "3\n"}, when=tie)
    w.when = tie
    w.run("merge", "-q", "--no-ff", "-m", "merge tie", "tie")
    w.run("checkout", "-q", "-b", "o1", "main")
    w.commit("o1 work", {"o1.txt": "o1\n", "a.txt": "a from o1\n"})
    w.run("checkout", "-q", "-b", "o2", "main")
    w.commit("o2 work", {"o2.txt": "o2\n"})
    w.run("checkout", "-q", "main")
    w.run("merge", "-q", "--no-ff", "-m", "octopus", "o1", "o2")
    w.run("tag", "octopus")
    w.commit("copies: one edited, one empty", {
        "copy-of-big.txt": _lines("big", 60).replace("line 12:", "line twelve:"), "f/empty": "", "g/empty": ""})
    w.commit("skewed: dated before its parent", {"keep.txt": "k3\n"}, when=EPOCH + 50)
    w.commit("after the skew", {"a.txt": "a after skew\n", "d/x.txt": "x after skew\n"},
             author="Grace Hopper <grace@example.org>")
    git("-C", path, "commit-graph", "write", "--reachable")
    return path


def build_criss_cross(path):
    """Two branches merging each other twice: several merge bases."""
    w = Work(path)
    w.commit("base", {"f": "0\n"})
    w.run("branch", "right")
    w.commit("left 1", {"l": "1\n"})
    w.run("checkout", "-q", "right")
    w.commit("right 1", {"r": "1\n"})
    for round_ in (2, 3):
        left_tip = out("-C", path, "rev-parse", "main").strip()
        right_tip = w.head()
        w.run("merge", "-q", "--no-ff", "-m", f"right takes left {round_}", left_tip)
        w.run("checkout", "-q", "main")
        w.run("merge", "-q", "--no-ff", "-m", f"left takes right {round_}", right_tip)
        w.commit(f"left {round_}", {"l": f"{round_}\n"})
        w.run("checkout", "-q", "right")
        w.commit(f"right {round_}", {"r": f"{round_}\n"})
    w.run("checkout", "-q", "-b", "third", "main~3")
    w.commit("third", {"t": "3\n"})
    w.run("merge", "-q", "--no-ff", "-m", "third takes right", "right~1")
    git("-C", path, "commit-graph", "write", "--reachable")
    return path


@pytest.fixture(scope="module")
def merges(tmp_path_factory):
    path = build_merges(str(tmp_path_factory.mktemp("merges") / "work"))
    store = _mirrored(tmp_path_factory, path)
    yield path, store
    store.close()


@pytest.fixture(scope="module")
def criss_cross(tmp_path_factory):
    path = build_criss_cross(str(tmp_path_factory.mktemp("criss") / "work"))
    store = _mirrored(tmp_path_factory, path)
    yield path, store
    store.close()


# -- helpers -------------------------------------------------------------------------------------

def rev(repo, what):
    return bytes.fromhex(out("-C", repo, "rev-parse", what + "^{commit}").strip())


def hexes(text):
    return text.split()


def branches(repo):
    return out("-C", repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()


def files_and_dirs(repo, commit="main"):
    files = out("-C", repo, "ls-tree", "-r", "--name-only", commit).split("\n")
    dirs = out("-C", repo, "ls-tree", "-r", "-d", "--name-only", commit).split("\n")
    return [f for f in files if f], [d for d in dirs if d]


def ids(infos):
    return [info.hex for info in infos]


# -- whole history -------------------------------------------------------------------------------

def test_log_order_is_rev_list_for_every_branch(repo, history):
    for name in branches(history) + ["v1.0", "light"]:
        expected = hexes(out("-C", history, "rev-list", name))
        assert [o.hex() for o in log_order(repo, rev(history, name))] == expected, name
        assert count_commits(repo, rev(history, name)) == int(out("-C", history, "rev-list", "--count", name))
    tag = bytes.fromhex(out("-C", history, "rev-parse", "v1.0-nested").strip())    # an annotated tag: peeled
    assert [o.hex() for o in log_order(repo, tag)] == hexes(out("-C", history, "rev-list", "v1.0-nested"))
    assert log_order(repo, b"\x01" * 20) == () and count_commits(repo, b"\x01" * 20) == 0


def test_log_order_with_ties_skew_and_octopus(merges):
    path, store = merges
    for name in branches(path) + ["main~1", "main~3"]:
        assert [o.hex() for o in log_order(store, rev(path, name))] == hexes(out("-C", path, "rev-list", name)), name


def test_commit_info_matches_git_show(repo, history):
    fmt = "%H%n%T%n%P%n%an%n%ae%n%at%n%cn%n%ce%n%ct%n%s"
    for name in ("main", "main~3", "v1.0"):
        info = commit_info(repo, rev(history, name))
        h, t, p, an, ae, at, cn, ce, ct, subject = out("-C", history, "show", "-s", f"--format={fmt}",
                                                       name + "^{commit}").split("\n")[:10]
        assert (info.hex, info.tree.hex(), " ".join(x.hex() for x in info.parents)) == (h, t, p)
        assert (info.author_name, info.author_email, info.author_time) == (an, ae, int(at))
        assert (info.committer_name, info.committer_email, info.committer_time) == (cn, ce, int(ct))
        assert info.summary == subject and info.short == h[:7]
        assert info.body == out("-C", history, "show", "-s", "--format=%b", name + "^{commit}").strip()
    order = log_order(repo, rev(history, "main"))
    picked = [order[i] for i in (5, 0, 77, 5, 3)] + [b"\x02" * 20]
    assert [i.oid for i in commit_infos(repo, picked)] == picked[:5]   # same order, unknown left out
    assert commit_info(repo, b"\x02" * 20) is None


@pytest.mark.parametrize("per_page", [1, 7, 30, 200])
def test_log_pages_concatenate_to_git_log(repo, history, per_page):
    tip = rev(history, "main")
    expected = hexes(out("-C", history, "log", "--format=%H", "main"))
    by_number, page = [], 1
    while True:
        got = log_page(repo, tip, page=page, per_page=per_page)
        assert got.page == page and len(got.commits) <= per_page
        by_number += ids(got.commits)
        if not got.has_next:
            assert got.next_cursor is None
            break
        page += 1
    assert by_number == expected
    by_cursor, cursor = [], None
    while True:
        got = log_page(repo, tip, per_page=per_page, cursor=cursor)
        by_cursor += ids(got.commits)
        if not got.has_next:
            break
        assert got.next_cursor and got.next_cursor.replace("-", "").replace("_", "").isalnum()
        cursor = got.next_cursor
    assert by_cursor == expected
    assert log_page(repo, tip, page=10_000, per_page=per_page).commits == []


def test_a_cursor_of_another_listing_is_ignored(repo, history):
    tip = rev(history, "main")
    other = log_page(repo, tip, path="db", per_page=2).next_cursor
    assert ids(log_page(repo, tip, per_page=5, cursor=other).commits) == \
        hexes(out("-C", history, "log", "--format=%H", "-5", "main"))
    assert ids(log_page(repo, tip, per_page=5, page=2, cursor="not a cursor!").commits) == \
        hexes(out("-C", history, "log", "--format=%H", "--skip=5", "-5", "main"))


# -- path history --------------------------------------------------------------------------------

def _path_history(store, tip, path, follow, author=None, per_page=1000):
    return ids(log_page(store, tip, path=path, per_page=per_page, follow=follow, author=author).commits)


def _feature_paths(repo):
    """Files changed by commits of merged feature branches (off main's first-parent line)."""
    side = set(hexes(out("-C", repo, "rev-list", "--no-merges", "main"))) - \
        set(hexes(out("-C", repo, "rev-list", "--first-parent", "main")))
    paths = set()
    for commit in side:
        paths.update(out("-C", repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit).split())
    return sorted(paths)


def test_path_history_is_git_log_for_files_and_directories(repo, history):
    tip = rev(history, "main")
    files, dirs = files_and_dirs(history)
    feature = _feature_paths(history)
    assert feature, "the fixture has feature branches"
    rng = random.Random(3)
    paths = feature + rng.sample(files, 40) + dirs[:60] + ["no/such/path", "db/"]
    for path in paths:
        expected = hexes(out("-C", history, "log", "--format=%H", "main", "--", path))
        assert _path_history(repo, tip, path, follow=False) == expected, path
    for path in dirs[:20]:  # follow never applies to a directory
        expected = hexes(out("-C", history, "log", "--format=%H", "main", "--", path))
        assert _path_history(repo, tip, path, follow=True) == expected, path


def test_path_history_pages_and_cursors(repo, history):
    tip = rev(history, "main")
    _, dirs = files_and_dirs(history)
    path = max(dirs[:30], key=lambda d: len(out("-C", history, "log", "--format=%H", "main", "--", d).split()))
    expected = hexes(out("-C", history, "log", "--format=%H", "main", "--", path))
    assert len(expected) > 6
    got, cursor = [], None
    while True:
        page = log_page(repo, tip, path=path, per_page=4, cursor=cursor, follow=False)
        got += ids(page.commits)
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert got == expected
    assert ids(log_page(repo, tip, path=path, per_page=4, page=2, follow=False).commits) == expected[4:8]


def test_path_history_through_real_merges(merges):
    path, store = merges

    def subjects(p):
        return out("-C", path, "log", "--format=%s", "main", "--", p).splitlines()
    # What the walk has to get right here: a merge TREESAME to neither parent is shown; a merge
    # TREESAME to a later parent leads into that parent only; an `-s ours` merge hides its branch.
    assert "evil merge of side" in subjects("d/x.txt") and "side: x" in subjects("d/x.txt")
    assert {"topic: a", "o1 work"} <= set(subjects("a.txt")) and "merge topic" not in subjects("a.txt")
    assert "ours: gone" not in subjects("gone.txt")
    files, dirs = files_and_dirs(path)
    gone = set(out("-C", path, "log", "--format=", "--name-only", "--all").split()) - set(files)
    for name in branches(path):
        tip = rev(path, name)
        for p in sorted(set(files) | set(dirs) | gone) + [""]:
            args = ["--", p] if p else []
            expected = hexes(out("-C", path, "log", "--format=%H", name, *args))
            assert _path_history(store, tip, p, follow=False) == expected, (name, p)


def test_follow_renames_like_git(repo, history, merges):
    renamed = [line.split("\t")[2] for line in
               out("-C", history, "log", "--diff-filter=R", "--name-status", "--format=", "main").splitlines()
               if line.startswith("R")]
    assert renamed, "make-test-repo renamed some files"
    files, _ = files_and_dirs(history)
    tip = rev(history, "main")
    for path in renamed + random.Random(5).sample(files, 15):
        expected = hexes(out("-C", history, "log", "--follow", "--format=%H", "main", "--", path))
        assert _path_history(repo, tip, path, follow=True) == expected, path
    work, store = merges
    files, _ = files_and_dirs(work)
    gone = set(out("-C", work, "log", "--format=", "--name-only", "--all").split()) - set(files)
    tip = rev(work, "main")
    for path in sorted(set(files) | gone):
        expected = hexes(out("-C", work, "log", "--follow", "--format=%H", "main", "--", path))
        assert _path_history(store, tip, path, follow=True) == expected, path
    # the renames and copies really were followed: an exact move across directories, an edited
    # rename, an edited copy
    statuses = out("-C", work, "log", "--follow", "--name-status", "--format=", "main", "--", "copy-of-big.txt")
    assert "\nC" in "\n" + statuses
    assert len(_path_history(store, tip, "copy-of-big.txt", follow=True)) == 3
    assert len(_path_history(store, tip, "e/y-moved.txt", follow=True)) > \
        len(_path_history(store, tip, "e/y-moved.txt", follow=False))
    assert _path_history(store, tip, "big2.txt", follow=True)[-1] == out("-C", work, "rev-list", "--max-parents=0",
                                                                         "main").strip()


def test_author_filter_is_git_log_author_ignoring_case(repo, history, merges):
    tip = rev(history, "main")
    for needle in ("ada", "GRACE", "example.org", "Hopper", "nobody-at-all"):
        expected = hexes(out("-C", history, "log", f"--author={needle}", "-i", "--format=%H", "main"))
        assert _path_history(repo, tip, "", follow=True, author=needle, per_page=5000) == expected, needle
        got, cursor = [], None
        while True:
            page = log_page(repo, tip, author=needle, per_page=9, cursor=cursor)
            got += ids(page.commits)
            if not page.has_next:
                break
            cursor = page.next_cursor
        assert got == expected
    _, dirs = files_and_dirs(history)
    for path in dirs[:5]:
        expected = hexes(out("-C", history, "log", "--author=lovelace", "-i", "--format=%H", "main", "--", path))
        assert _path_history(repo, tip, path, follow=False, author="Lovelace") == expected
    work, store = merges
    expected = hexes(out("-C", work, "log", "--author=ada", "-i", "--format=%H", "main"))
    assert _path_history(store, rev(work, "main"), "", follow=False, author="ADA") == expected and expected


# -- last commit per entry -----------------------------------------------------------------------

def _check_last_commits(store, repo, commit, directory):
    listing = out("-C", repo, "ls-tree", "--name-only", f"{commit}:{directory}" if directory else commit).split("\n")
    names = [n for n in listing if n]
    got = last_commits(store, rev(repo, commit), directory, names)
    assert set(got) == set(names), (commit, directory)
    for name in names:
        path = f"{directory}/{name}" if directory else name
        expected = out("-C", repo, "log", "-1", "--format=%H", commit, "--", path).strip()
        assert got[name].hex == expected, (commit, path)


def test_last_commits_match_git_log_1(repo, history):
    _, dirs = files_and_dirs(history)
    picked = [""] + dirs[:3] + random.Random(11).sample(dirs, 6)
    for commit in ("main", "main~1", "main~7", "main~40", "v1.0"):
        for directory in picked:
            if not directory or out("-C", history, "ls-tree", "-d", commit, directory).strip():
                _check_last_commits(repo, history, commit, directory)
    for name in branches(history)[:4]:
        _check_last_commits(repo, history, name, "")


def test_last_commits_cold_and_from_the_parents_answers(repo, history):
    for commit in ("main~12", "main~11", "main~10", "main~9"):   # each can start from its parent's answer
        _check_last_commits(repo, history, commit, "")
    history_module.clear_caches()   # cold: no snapshot, no cached answers
    for directory in [""] + files_and_dirs(history)[1][:2]:
        _check_last_commits(repo, history, "main~5", directory)
    got = last_commits(repo, rev(history, "main"), "", ["no-such-entry"])
    assert got == {}


def test_last_commits_through_real_merges(merges):
    path, store = merges
    commits = out("-C", path, "rev-list", "--all").split()
    for commit in commits:
        _, dirs = files_and_dirs(path, commit)
        for directory in [""] + dirs:
            _check_last_commits(store, path, commit, directory)


# -- merge bases, ahead/behind, base..head -------------------------------------------------------

def _pairs(repo):
    names = branches(repo)
    tags = out("-C", repo, "tag").split()
    points = names + tags + [f"main~{n}" for n in (1, 4, 15, 40, 90)]
    rng = random.Random(17)
    pairs = [(a, b) for a in points for b in ("main", names[0])] + [tuple(rng.sample(points, 2)) for _ in range(60)]
    return pairs + [("main", "main"), ("main~3", "main")]


def _check_pair(store, repo, a, b):
    x, y = rev(repo, a), rev(repo, b)
    expected_all = hexes(out("-C", repo, "merge-base", "--all", a, b))
    got = [o.hex() for o in merge_bases(store, x, y)]
    assert sorted(got) == sorted(expected_all), (a, b)
    assert got == expected_all, (a, b)
    single = git("-C", repo, "merge-base", a, b, check=False).stdout.strip()
    assert (merge_base(store, x, y) or b"").hex() == single, (a, b)
    left, right = map(int, out("-C", repo, "rev-list", "--left-right", "--count", f"{a}...{b}").split())
    assert ahead_behind(store, x, y) == (right, left), (a, b)
    between = hexes(out("-C", repo, "log", "--format=%H", f"{a}..{b}"))
    assert ids(commits_between(store, x, y, limit=10_000)) == between, (a, b)
    assert ids(commits_between(store, x, y, limit=3)) == between[:3]


def test_merge_bases_ahead_behind_and_between_match_git(repo, history):
    for a, b in _pairs(history):
        _check_pair(repo, history, a, b)


def test_criss_cross_has_several_merge_bases(criss_cross):
    path, store = criss_cross
    assert len(hexes(out("-C", path, "merge-base", "--all", "main", "right"))) >= 2
    points = branches(path) + [f"{b}~{n}" for b in ("main", "right") for n in range(1, 5)]
    for a in points:
        for b in points:
            _check_pair(store, path, a, b)


def test_real_merges_pairs(merges):
    path, store = merges
    points = branches(path) + [f"main~{n}" for n in range(1, 8)] + ["octopus", "octopus^2", "octopus^3"]
    for a in points:
        for b in points[::2]:
            _check_pair(store, path, a, b)


def test_a_push_extends_the_snapshot(tmp_path, history):
    """Answers stay right when the store gains commits after its snapshot was taken: a small push
    (a few targeted queries) and a long one (one scan)."""
    store = RepoStore.create(tmp_path / "grow.sqlite3")
    old = str(tmp_path / "old.git")
    git("init", "-q", "--bare", old)
    git("-C", history, "push", "-q", old, "main~20:refs/heads/main")
    mirror(store, tmp_path, old)
    steps = ["main~20", "main~17", "main"]
    assert count_commits(store, rev(history, steps[0])) == int(out("-C", history, "rev-list", "--count", steps[0]))
    last_commits(store, rev(history, steps[0]), "", ["__init__.py"])
    for before, after in zip(steps, steps[1:]):
        landing = tmp_path / after.replace("~", "-")
        os.makedirs(landing)
        outcome = push(store, landing, pack_of(history, after, "^" + before),
                       {"refs/heads/main": (rev(history, before), rev(history, after))})
        assert [u.error for u in outcome.updates if u.error] == []
        tip = rev(history, after)
        assert [o.hex() for o in log_order(store, tip)] == hexes(out("-C", history, "rev-list", after))
        _check_last_commits(store, history, after, "")
        for path in files_and_dirs(history)[1][:5]:
            assert _path_history(store, tip, path, follow=False) == \
                hexes(out("-C", history, "log", "--format=%H", after, "--", path))
    store.close()


def test_module_exports():
    assert set(history_module.__all__) >= {"CommitInfo", "LogPage", "log_page", "last_commits", "merge_bases"}
