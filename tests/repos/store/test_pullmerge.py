"""Merging a pull request's branches in the store (repos/store/pullmerge.py), checked against git:
the merge and squash trees equal `git merge-tree --write-tree`, a rebase replays what `git rebase`
replays, conflicts and a moved target change nothing, and the result passes `git fsck --strict`."""
import subprocess

import pytest

from repos.store import RepoStore
from repos.store.packgen import stream_whole
from repos.store.pullmerge import (
    MERGE, REBASE, SQUASH, MergeConflict, NothingToMerge, merge_branch,
)
from repos.store.write import RefMoved, Signature, write_and_move_ref
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, git_env, out

MERGER = Signature("Merger", "merger@example.org", 1_700_000_500, 120)


def _commit(work, path, text, message, date):
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    git("-C", work, "add", "-A")
    git("-C", work, "-c", f"user.name=Dev {date}", "commit", "-q", "-m", message,
        env={"GIT_AUTHOR_DATE": f"{date} +0000", "GIT_COMMITTER_DATE": f"{date} +0000"})


@pytest.fixture
def diverged(tmp_path):
    """main and feature diverged: feature edits the top of a file and adds one, main edits the
    bottom of the same file; `clash` edits a line main also edits."""
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    lines = [f"line {i}\n" for i in range(40)]
    _commit(work, "src/app.py", "".join(lines), "Start", 1_700_000_000)
    git("-C", work, "checkout", "-q", "-b", "feature")
    _commit(work, "src/app.py", "".join(["top changed\n"] + lines[1:]), "Change the top", 1_700_000_010)
    _commit(work, "docs/new.md", "# New\n", "Add docs", 1_700_000_020)
    git("-C", work, "checkout", "-q", "-b", "clash", "main")
    _commit(work, "src/app.py", "".join(lines[:39] + ["clash\n"]), "Clash", 1_700_000_025)
    git("-C", work, "checkout", "-q", "main")
    _commit(work, "src/app.py", "".join(lines[:39] + ["bottom changed\n"]), "Change the bottom", 1_700_000_030)
    bare = tmp_path / "src.git"
    git("clone", "-q", "--bare", work, bare)
    store = RepoStore.create(tmp_path / "store.sqlite3")
    (tmp_path / "mirror").mkdir()
    mirror(store, tmp_path / "mirror", bare)
    yield store, bare
    store.close()


def _oid(bare, rev):
    return bytes.fromhex(out("-C", bare, "rev-parse", rev).strip())


def _export(store, tmp_path):
    """The store as a bare git repository (its whole pack, its refs), for git to check."""
    target = tmp_path / "export.git"
    git("init", "-q", "--bare", target)
    (tmp_path / "whole.pack").write_bytes(b"".join(stream_whole(store)))
    with open(tmp_path / "whole.pack", "rb") as pack:
        subprocess.run(["git", "-C", str(target), "unpack-objects", "-q"], stdin=pack, check=True,
                       env=git_env())
    for name, oid, _ in store.refs():
        git("-C", target, "update-ref", name, oid.hex())
    assert git("-C", target, "fsck", "--strict", "--no-dangling").returncode == 0
    return target


def _merge(store, bare, method, head="feature"):
    return merge_branch(store, target_ref="refs/heads/main", expected_tip=store.ref("refs/heads/main"),
                        head=_oid(bare, head), method=method, message=f"{method} it", committer=MERGER)


@pytest.mark.parametrize("method", [MERGE, SQUASH])
def test_merge_and_squash_trees_equal_git_merge_tree(diverged, tmp_path, method):
    store, bare = diverged
    expected_tree = out("-C", bare, "merge-tree", "--write-tree", "main", "feature").split()[0]
    old = store.ref("refs/heads/main")
    merged = _merge(store, bare, method)
    assert store.ref("refs/heads/main") == merged.new_tip != old
    export = _export(store, tmp_path)
    assert out("-C", export, "rev-parse", "main^{tree}").strip() == expected_tree
    parents = out("-C", export, "log", "-1", "--format=%P", "main").split()
    assert parents == ([old.hex(), _oid(bare, "feature").hex()] if method == MERGE else [old.hex()])
    assert out("-C", export, "log", "-1", "--format=%cn <%ce> %s", "main").strip() == \
        f"Merger <merger@example.org> {method} it"


def test_rebase_replays_each_commit_as_git_rebase_does(diverged, tmp_path):
    store, bare = diverged
    work = tmp_path / "rebased"
    git("clone", "-q", bare, work)
    git("-C", work, "checkout", "-q", "feature")
    git("-C", work, "rebase", "-q", "origin/main")
    merged = _merge(store, bare, REBASE)
    assert len(merged.created) == 2 and not merged.fast_forward
    export = _export(store, tmp_path)
    theirs = out("-C", export, "log", "--format=%T %an <%ae> %at %s", "main", "-3")
    git_rebased = out("-C", work, "log", "--format=%T %an <%ae> %at %s", "HEAD", "-3")
    assert theirs == git_rebased
    assert out("-C", export, "log", "-2", "--format=%cn", "main").split() == ["Merger", "Merger"]


def test_rebase_fast_forwards_when_it_can(diverged, tmp_path):
    store, bare = diverged
    # A branch behind main: merging main into it by rebase just moves it.
    tip = store.ref("refs/heads/main")
    old = _oid(bare, "main~1")
    write_and_move_ref(store, {}, "refs/heads/behind", None, old)
    merged = merge_branch(store, target_ref="refs/heads/behind", expected_tip=old, head=tip, method=REBASE,
                          message="", committer=MERGER)
    assert merged.fast_forward and store.ref("refs/heads/behind") == tip and not merged.created


def test_a_conflict_changes_nothing_and_names_the_files(diverged):
    store, bare = diverged
    before = dict((name, oid) for name, oid, _ in store.refs())
    packs = store.con.execute("SELECT count(*) FROM packs").fetchone()[0]
    for method in (MERGE, SQUASH, REBASE):
        with pytest.raises(MergeConflict) as raised:
            _merge(store, bare, method, head="clash")
        assert raised.value.paths == ["src/app.py"]
    proc = git("-C", bare, "merge-tree", "--write-tree", "--name-only", "main", "clash", check=False)
    assert proc.returncode == 1 and proc.stdout.split("\n")[1:2] == ["src/app.py"]
    assert dict((name, oid) for name, oid, _ in store.refs()) == before
    assert store.con.execute("SELECT count(*) FROM packs").fetchone()[0] == packs


def test_a_moved_target_or_an_merged_head_is_refused(diverged):
    store, bare = diverged
    with pytest.raises(RefMoved):
        merge_branch(store, target_ref="refs/heads/main", expected_tip=_oid(bare, "main~1"),
                     head=_oid(bare, "feature"), method=MERGE, message="m", committer=MERGER)
    with pytest.raises(NothingToMerge):
        merge_branch(store, target_ref="refs/heads/main", expected_tip=store.ref("refs/heads/main"),
                     head=_oid(bare, "main~1"), method=MERGE, message="m", committer=MERGER)
