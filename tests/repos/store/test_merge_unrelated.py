"""Merging unrelated histories (no merge base): the engine merges through the empty tree, which
a store need not hold, and agrees with `git merge-tree --allow-unrelated-histories`."""
from repos.store.merge import merge_commits
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out


def test_unrelated_histories_merge_as_git_does(store, tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "a.txt").write_text("a\n")
    (work / "same.txt").write_text("one\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "main root")
    git("-C", work, "checkout", "-q", "--orphan", "other")
    git("-C", work, "rm", "-q", "-rf", ".")
    (work / "b.txt").write_text("b\n")
    (work / "same.txt").write_text("two\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "other root")
    (work / "same.txt").write_text("one\n")
    git("-C", work, "commit", "-q", "-am", "other agrees")
    mirror(store, tmp_path, work)

    main, other = (bytes.fromhex(out("-C", work, "rev-parse", ref).strip()) for ref in ("main", "other"))
    result = merge_commits(store, main, other)
    assert not result.bases
    expected = out("-C", work, "merge-tree", "--write-tree", "--allow-unrelated-histories", "main", "other").split()[0]
    assert not result.conflicts
    assert result.tree.hex() == expected
