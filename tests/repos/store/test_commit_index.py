"""The commit index agrees with git: parents, generations, people and time zones, changed paths."""
import random

import pytest

from repos.store import objectcheck
from repos.store.graph import CommitGraph
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out


def test_commit_rows_match_git_log(store, tmp_path, history):
    mirror(store, tmp_path, history)
    fmt = "%H%x00%P%x00%T%x00%an%x00%ae%x00%at%x00%ai%x00%cn%x00%ce%x00%ct%x00%ci"
    for line in out("-C", history, "log", "--all", f"--format={fmt}").splitlines():
        oid, parents, tree, an, ae, at, ai, cn, ce, ct, ci = line.split("\0")
        row = store.con.execute(
            "SELECT parents, tree, author_name, author_email, author_time, author_tz, committer_name,"
            " committer_email, committer_time, committer_tz FROM commits WHERE oid=?", (bytes.fromhex(oid),)
        ).fetchone()
        assert row is not None, oid
        assert row[0] == bytes.fromhex(parents.replace(" ", ""))
        assert row[1] == bytes.fromhex(tree)
        assert (row[2], row[3], row[4], row[6], row[7], row[8]) == (an, ae, int(at), cn, ce, int(ct))
        tz = lambda minutes: f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"  # noqa: E731
        assert ai.endswith(tz(row[5])) and ci.endswith(tz(row[9]))


def test_generation_is_one_more_than_the_parents(store, tmp_path, history):
    mirror(store, tmp_path, history)
    graph = CommitGraph(store.con)
    for (oid,) in store.con.execute("SELECT oid FROM commits").fetchall():
        node = graph.node(oid)
        assert node.generation == 1 + max((graph.node(p).generation for p in node.parents), default=0)


@pytest.mark.parametrize("trees_kept", [100000, 3], ids=["trees-in-memory", "trees-read-back"])
def test_changed_paths_match_git_diff_tree(store, tmp_path, history, monkeypatch, trees_kept):
    # A push keeps a bounded number of its parsed trees; the rest are read back from the pack.
    monkeypatch.setattr(objectcheck, "TREES_KEPT", trees_kept)
    mirror(store, tmp_path, history)
    commits = out("-C", history, "rev-list", "--all").split()
    for oid in random.Random(7).sample(commits, 40) + [out("-C", history, "rev-list", "--max-parents=0", "main").strip()]:
        first_parent = out("-C", history, "rev-list", "--parents", "-n1", oid).split()[1:2]
        if first_parent:
            names = out("-C", history, "diff-tree", "-r", "--no-renames", "--name-only", "--no-commit-id",
                        first_parent[0], oid).split("\n")
        else:
            names = out("-C", history, "ls-tree", "-r", "--name-only", oid).split("\n")
        expected = sorted(n for n in names if n)
        stored = sorted(row[0].decode() for row in store.con.execute(
            "SELECT p.path FROM commit_paths c JOIN paths p ON p.id = c.path_id WHERE c.commit_oid = ?",
            (bytes.fromhex(oid),)))
        assert stored == expected, oid


def test_walks_agree_with_rev_list_and_merge_base(store, tmp_path, history):
    mirror(store, tmp_path, history)
    graph = CommitGraph(store.con)
    commits = out("-C", history, "rev-list", "--all").split()
    rng = random.Random(3)
    for _ in range(25):
        a, b = rng.sample(commits, 2)
        expected = set(out("-C", history, "rev-list", a, "--not", b).split())
        got = {c.hex() for c in graph.walk_excluding([bytes.fromhex(a)], [bytes.fromhex(b)])}
        assert got == expected
        is_ancestor = git("-C", history, "merge-base", "--is-ancestor", a, b, check=False).returncode == 0
        assert graph.is_ancestor(bytes.fromhex(a), bytes.fromhex(b)) == is_ancestor
