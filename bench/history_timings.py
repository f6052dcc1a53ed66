"""Timings of repos/store/history.py on a make-test-repo history (default 5,000 commits).

    .venv/bin/python bench/history_timings.py [--commits N] [--runs R] [--cache DIR]

The repository and its store are built once under --cache (default $TMPDIR/forge-history-bench).
"cold" is the first call in a fresh process (a child process per measurement: empty caches, a store
just opened); "warm" is the second call in the same process. Each figure is the median of --runs.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name: (what, target ms, warm or cold)
CASES = {
    "log_order": ("first log_order of main", 60, "cold"),
    "count": ("count_commits of main", None, "cold"),
    "page1": ("log page 1 (30 per page)", 10, "warm"),
    "page100": ("log page 100 (30 per page)", 10, "warm"),
    "page1_cold": ("log page 1, first call", None, "cold"),
    "page100_cold": ("log page 100, first call", None, "cold"),
    "cursor_next": ("next page by cursor, 100 pages deep", None, "warm"),
    "last_root": ("last_commits of the root directory", 40, "cold"),
    "last_root_warm": ("last_commits of the root directory", None, "warm"),
    "last_subdir": ("last_commits of contrib/admin", None, "cold"),
    "last_next_commit": ("last_commits of the root at main, main~1 answered", None, "cold"),
    "file_busy": ("history of a busy file (plain, -- path)", 40, "cold"),
    "file_busy_follow": ("history of a busy file (--follow)", 40, "cold"),
    "file_renamed_follow": ("history of a renamed file (--follow)", 40, "cold"),
    "file_copied_follow": ("history of a file git sees as a copy (--follow)", 40, "cold"),
    "dir_history": ("history of a directory (db)", None, "cold"),
    "author": ("log page 1 filtered by author", None, "cold"),
    "merge_base": ("merge_base main / a branch 318 commits behind", 20, "cold"),
    "merge_base_warm": ("merge_base main / a branch 318 commits behind", None, "warm"),
    "ahead_behind": ("ahead_behind main / that branch", 20, "cold"),
    "ahead_behind_2": ("ahead_behind of two feature branches", 20, "cold"),
    "between": ("commits_between base..head (250)", None, "cold"),
}


def build(cache, commits):
    from repos.store import RepoStore
    from tests.repos.store.helpers import mirror
    from tests.support.sources import make_test_repo

    cache.mkdir(parents=True, exist_ok=True)
    source = cache / f"src{commits}.git"
    if not source.exists():
        print(f"building a {commits}-commit repository (once) ...", flush=True)
        make_test_repo(source, commits)
    store_path = cache / f"store{commits}.sqlite3"
    if not store_path.exists():
        store = RepoStore.create(store_path)
        with tempfile.TemporaryDirectory() as tmp:
            mirror(store, pathlib.Path(tmp), str(source))
        store.close()
    return source, store_path


def git(source, *args):
    return subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True, check=True).stdout


def subjects(source):
    """The paths and refs the cases use, chosen from the repository itself."""
    counts = {}
    for path in git(source, "log", "--format=", "--name-only", "--no-merges", "main").split():
        counts[path] = counts.get(path, 0) + 1
    busy = max(sorted(counts), key=counts.get)
    renamed = [line.split("\t")[2] for line in
               git(source, "log", "--diff-filter=R", "--name-status", "--format=", "main").splitlines()
               if line.startswith("R")][0]
    copied = next(p for p in git(source, "ls-tree", "-r", "--name-only", "main", "contrib/admindocs").split()
                  if "\nC" in "\n" + git(source, "log", "--follow", "--name-status", "--format=", "main", "--", p))
    return {"busy": busy, "renamed": renamed, "copied": copied, "branch": "feature/topic-4679",
            "branch2": "feature/topic-4740"}


def measure(store_path, case, paths):
    """One case in this (fresh) process: -> milliseconds."""
    from repos.store import RepoStore
    from repos.store import history as h
    from repos.store.browse import list_tree

    store = RepoStore.open(store_path)
    main = store.ref("refs/heads/main")
    branch = store.ref("refs/heads/" + paths["branch"])
    branch2 = store.ref("refs/heads/" + paths["branch2"])
    parent = store.graph.node(main).parents[0]
    root_names = [e.name for e in list_tree(store, main, "")]
    admin_names = [e.name for e in list_tree(store, main, "contrib/admin")]
    store.close()
    store = RepoStore.open(store_path)   # nothing of it read yet
    calls = {
        "log_order": lambda: h.log_order(store, main),
        "count": lambda: h.count_commits(store, main),
        "page1": lambda: h.log_page(store, main, page=1),
        "page100": lambda: h.log_page(store, main, page=100),
        "page1_cold": lambda: h.log_page(store, main, page=1),
        "page100_cold": lambda: h.log_page(store, main, page=100),
        "last_root": lambda: h.last_commits(store, main, "", root_names),
        "last_root_warm": lambda: h.last_commits(store, main, "", root_names),
        "last_subdir": lambda: h.last_commits(store, main, "contrib/admin", admin_names),
        "file_busy": lambda: h.log_page(store, main, path=paths["busy"], follow=False),
        "file_busy_follow": lambda: h.log_page(store, main, path=paths["busy"]),
        "file_renamed_follow": lambda: h.log_page(store, main, path=paths["renamed"]),
        "file_copied_follow": lambda: h.log_page(store, main, path=paths["copied"]),
        "dir_history": lambda: h.log_page(store, main, path="db"),
        "author": lambda: h.log_page(store, main, author="grace"),
        "merge_base": lambda: h.merge_base(store, main, branch),
        "merge_base_warm": lambda: h.merge_base(store, main, branch),
        "ahead_behind": lambda: h.ahead_behind(store, branch, main),
        "ahead_behind_2": lambda: h.ahead_behind(store, branch, branch2),
        "between": lambda: h.commits_between(store, branch, main),
    }
    if case == "cursor_next":
        cursor = None
        for _ in range(100):
            cursor = h.log_page(store, main, cursor=cursor).next_cursor
        start = time.perf_counter()
        h.log_page(store, main, cursor=cursor)
        return (time.perf_counter() - start) * 1000
    if case == "last_next_commit":
        h.last_commits(store, parent, "", root_names)
        start = time.perf_counter()
        h.last_commits(store, main, "", root_names)
        return (time.perf_counter() - start) * 1000
    call = calls[case]
    if CASES[case][2] == "warm":
        call()
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "forge-history-bench"))
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--paths", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.measure:
        print(json.dumps(measure(a.store, a.measure, json.loads(a.paths))))
        return
    source, store_path = build(pathlib.Path(a.cache), a.commits)
    paths = subjects(source)
    print(f"{a.commits} commits; busy file {paths['busy']}; renamed {paths['renamed']}; "
          f"copied {paths['copied']}; median of {a.runs} runs, each in a fresh process\n")
    print(f"{'case':<62}{'ms':>9}{'target':>9}")
    results = {}
    for case, (what, target, kind) in CASES.items():
        runs = []
        for _ in range(a.runs):
            child = subprocess.run([sys.executable, __file__, "--measure", case, "--store", str(store_path),
                                    "--paths", json.dumps(paths)], capture_output=True, text=True, cwd=ROOT)
            if child.returncode:
                sys.exit(child.stderr)
            runs.append(json.loads(child.stdout))
        results[case] = statistics.median(runs)
        verdict = "" if target is None else ("  ok" if results[case] <= target else "  MISS")
        print(f"{what + ' (' + kind + ')':<62}{results[case]:>9.2f}{'' if target is None else target:>9}{verdict}")
    ratio = results["page100"] / results["page1"]
    cold_ratio = results["page100_cold"] / results["page1_cold"]
    print(f"\npage 100 / page 1: {ratio:.2f} warm, {cold_ratio:.2f} cold (target <= 1.5)")


if __name__ == "__main__":
    main()
