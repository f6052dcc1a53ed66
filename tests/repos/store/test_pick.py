"""Cherry-pick and revert in the store (repos/store/pick.py), checked against real `git cherry-pick`
and `git revert` in a work tree of the same history: the same tree, the same conflicted paths, the
author and message git keeps or writes; refusals (bad mainline, moved branch, conflicts, empty
results) write nothing."""
import pytest

from repos.store.packformat import ZERO_OID
from repos.store.pick import CHERRY_PICK, REVERT, EmptyPick, PickConflict, PickRefused, pick
from repos.store.write import RefMoved, Signature, write_and_move_ref
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

ME = Signature("Picker", "picker@example.org", 1_700_000_500, 60)


@pytest.fixture(scope="module")
def setup(history, tmp_path_factory):
    """(store holding the history, a non-bare clone for git to pick in)."""
    from repos.store import RepoStore
    tmp = tmp_path_factory.mktemp("pick")
    store = RepoStore.create(tmp / "repo.sqlite3")
    mirror(store, tmp, history)
    work = tmp / "work"
    git("clone", "-q", str(history), str(work))
    yield store, work
    store.close()


_branches = iter(range(10_000))


def _branch_at(store, oid):
    ref = f"refs/heads/pick-test-{next(_branches)}"
    write_and_move_ref(store, {}, ref, None, oid)
    return ref


def _git_pick(work, action, target, commit, mainline=None):
    """What git does: ("clean", tree hex) | ("conflict", sorted paths) | ("empty", None)."""
    git("-C", work, "checkout", "-q", "-f", "--detach", target)
    git("-C", work, "clean", "-q", "-fdx")
    args = ["-C", work, action, "--no-edit"] + (["-m", str(mainline)] if mainline else []) + [commit]
    done = git(*args, check=False)
    if done.returncode == 0:
        return "clean", out("-C", work, "rev-parse", "HEAD^{tree}").strip()
    conflicted = out("-C", work, "diff", "--name-only", "--diff-filter=U").split()
    git("-C", work, action, "--abort", check=False)
    if conflicted:
        return "conflict", sorted(conflicted)
    assert "empty" in done.stderr or "nothing to commit" in done.stdout, (done.stdout, done.stderr)
    git("-C", work, action, "--skip", check=False)
    return "empty", None


def _store_pick(store, action, target, commit, mainline=None):
    ref = _branch_at(store, bytes.fromhex(target))
    try:
        done = pick(store, action, ref=ref, commit=bytes.fromhex(commit), committer=ME, mainline=mainline)
    except PickConflict as conflict:
        assert store.ref(ref).hex() == target
        return ("conflict", sorted(conflict.paths)), None
    except EmptyPick:
        assert store.ref(ref).hex() == target
        return ("empty", None), None
    assert store.ref(ref) == done.new_tip
    assert store.graph.node(done.new_tip).parents == (bytes.fromhex(target),)
    return ("clean", done.tree.hex()), done


def _rev(repo, spec):
    return out("-C", repo, "rev-parse", spec).strip()


def _cases(history, count):
    """(target, commit) pairs: commits of main picked onto the feature branches and older main."""
    commits = out("-C", history, "rev-list", "--no-merges", "--max-count", str(count), "main").split()
    branches = out("-C", history, "for-each-ref", "--format=%(objectname)", "refs/heads/feature/").split()
    targets = branches + [_rev(history, f"main~{k}") for k in (3, 12, 30)]
    return [(targets[i % len(targets)], c) for i, c in enumerate(commits)]


def test_cherry_pick_gives_gits_tree(setup, history):
    store, work = setup
    outcomes = set()
    for target, commit in _cases(history, 24):
        expected = _git_pick(work, "cherry-pick", target, commit)
        got, done = _store_pick(store, CHERRY_PICK, target, commit)
        assert got == expected, (target, commit)
        outcomes.add(got[0])
        if done:
            raw = store.get(done.new_tip)[1].decode()
            source = store.get(bytes.fromhex(commit))[1].decode()
            # git cherry-pick keeps the author and the message; the committer is the picker.
            assert _header(raw, "author") == _header(source, "author")
            assert raw.partition("\n\n")[2] == source.partition("\n\n")[2]
            assert _header(raw, "committer") == "Picker <picker@example.org> 1700000500 +0100"
    assert "clean" in outcomes and len(outcomes) > 1, outcomes  # the cases cover more than one outcome


def test_revert_gives_gits_tree_and_message(setup, history):
    store, work = setup
    outcomes = set()
    commits = out("-C", history, "rev-list", "--no-merges", "--max-count", "30", "main~2").split()
    for k, commit in enumerate(commits):
        # reverting commits of the target's own history (and, every third case, of a later one)
        target = _rev(history, "main") if k % 3 else _rev(history, "feature/topic-11")
        expected = _git_pick(work, "revert", target, commit)
        got, done = _store_pick(store, REVERT, target, commit)
        assert got == expected, (target, commit)
        outcomes.add(got[0])
        if done:
            git_message = out("-C", work, "log", "-1", "--format=%B", "HEAD").rstrip("\n")
            ours = store.get(done.new_tip)[1].decode().partition("\n\n")[2].rstrip("\n")
            assert ours == git_message
            assert _header(store.get(done.new_tip)[1].decode(), "author").startswith("Picker <picker@example.org>")
    assert "clean" in outcomes and len(outcomes) > 1, outcomes


def test_merge_commits_need_a_mainline(setup, history):
    store, work = setup
    merges = out("-C", history, "rev-list", "--merges", "--max-count", "4", "main").split()
    assert merges
    target = _rev(history, "main")
    ref = _branch_at(store, bytes.fromhex(target))
    with pytest.raises(PickRefused, match="merge but no mainline"):
        pick(store, REVERT, ref=ref, commit=bytes.fromhex(merges[0]), committer=ME)
    with pytest.raises(PickRefused, match="does not have parent 3"):
        pick(store, REVERT, ref=ref, commit=bytes.fromhex(merges[0]), committer=ME, mainline=3)
    plain = out("-C", history, "rev-list", "--no-merges", "--max-count", "1", "main").strip()
    with pytest.raises(PickRefused, match="not a merge"):
        pick(store, CHERRY_PICK, ref=ref, commit=bytes.fromhex(plain), committer=ME, mainline=1)
    assert store.ref(ref).hex() == target
    for merge in merges:
        for action in ("revert", "cherry-pick"):
            onto = target if action == "revert" else _rev(history, f"{merge}^1~2")
            expected = _git_pick(work, action, onto, merge, mainline=1)
            got, done = _store_pick(store, action, onto, merge, mainline=1)
            assert got == expected, (action, merge)
            if done and action == "revert":
                git_message = out("-C", work, "log", "-1", "--format=%B", "HEAD").rstrip("\n")
                assert store.get(done.new_tip)[1].decode().partition("\n\n")[2].rstrip("\n") == git_message


def test_a_conflict_names_gits_paths_and_writes_nothing(tmp_path, store):
    work = tmp_path / "w"
    git("init", "-q", "-b", "main", work)
    (work / "a.txt").write_text("one\ntwo\nthree\n")
    (work / "b.txt").write_text("bee\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "start")
    git("-C", work, "checkout", "-q", "-b", "side")
    (work / "a.txt").write_text("one\nTWO side\nthree\n")
    (work / "b.txt").write_text("bee side\n")
    git("-C", work, "commit", "-q", "-am", "side edit")
    git("-C", work, "checkout", "-q", "main")
    (work / "a.txt").write_text("one\nTWO main\nthree\n")
    git("-C", work, "commit", "-q", "-am", "main edit")
    mirror(store, tmp_path, work)
    side, main = _rev(work, "side"), _rev(work, "main")
    expected = _git_pick(work, "cherry-pick", main, side)
    assert expected == ("conflict", ["a.txt"])
    before = store.con.execute("SELECT count(*) FROM commits").fetchone()[0]
    with pytest.raises(PickConflict) as raised:
        pick(store, CHERRY_PICK, ref="refs/heads/main", commit=bytes.fromhex(side), committer=ME)
    assert raised.value.paths == ["a.txt"]
    assert store.ref("refs/heads/main").hex() == main
    assert store.con.execute("SELECT count(*) FROM commits").fetchone()[0] == before


def test_a_moved_branch_refuses_and_writes_nothing(setup, history):
    store, _ = setup
    target = _rev(history, "main~3")
    ref = _branch_at(store, bytes.fromhex(target))
    commit = bytes.fromhex(_rev(history, "main"))
    with pytest.raises(RefMoved):
        pick(store, CHERRY_PICK, ref=ref, commit=commit, committer=ME, expected_tip=bytes.fromhex(_rev(history, "main~4")))
    assert store.ref(ref).hex() == target
    done = pick(store, CHERRY_PICK, ref=ref, commit=commit, committer=ME, expected_tip=bytes.fromhex(target))
    assert store.ref(ref) == done.new_tip
    with pytest.raises(PickRefused, match="not a branch"):
        pick(store, CHERRY_PICK, ref="refs/heads/no-such", commit=commit, committer=ME)
    with pytest.raises(PickRefused, match="not a commit"):
        pick(store, CHERRY_PICK, ref=ref, commit=ZERO_OID, committer=ME)


def test_root_commit_cherry_pick_and_revert(setup, history):
    store, work = setup
    root = out("-C", history, "rev-list", "--max-parents=0", "main").split()[0]
    for action in ("cherry-pick", "revert"):
        onto = _rev(history, "main~1") if action == "revert" else _rev(history, "feature/topic-11")
        expected = _git_pick(work, action, onto, root)
        got, _ = _store_pick(store, action, onto, root)
        assert got == expected, action


def _header(raw, key):
    for line in raw.partition("\n\n")[0].split("\n"):
        if line.startswith(key + " "):
            return line[len(key) + 1:]
    return None
