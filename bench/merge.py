"""Merge timings: Forge's store merge (repos/store/merge.py) against `git merge-tree --write-tree`
on the same pair of commits, two branches 500 commits apart on a 5,000-commit repository.

    .venv/bin/python bench/merge.py [--commits 5000] [--apart 500] [--branch-commits 20] [--runs 7]
                                    [--cache DIR]

Set-up (not timed; built once and cached under --cache, default $TMPDIR/forge-merge-bench):
- a make-test-repo repository of N commits (bare);
- branch `pr`: starts at main~APART (first-parent), then BRANCH_COMMITS commits that each edit
  two files with make-test-repo's kind of edit (lines inserted, revised, deleted at random
  places): one of at least 6 kB that main also changed (at most twice) since, so line-level merges happen, and
  one main did not touch, plus a new file now and then. The first seed whose pair `git merge-tree` merges cleanly is
  kept (a pull request that can be merged is the case a forge checks on every page view);
- a store mirroring the repository (as a push lands it).

Timed, the median of --runs runs each (forge cold and git alternating run by run):
- forge cold: RepoStore.open on the store file + merge_commits(store, main, pr) (no cached
  commits, trees or objects);
- forge warm: merge_commits again on a store that has done it once;
- git: `git merge-tree --write-tree main pr` (a process of its own, as a forge calling git would run it).
The result is checked first: same merge bases as `git merge-base --all`, same tree as git's.
Target: forge cold <= 2x git.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repos.store import RepoStore
from repos.store.merge import merge_commits
from bench.common import timed
from bench.stores import cached_store
from tests.support.gitcli import git_env
from tests.support.sources import make_test_repo


def git(repo, *args, data=None, env=None, check=True):
    return subprocess.run(["git", "--git-dir", str(repo), *map(str, args)], input=data, capture_output=True,
                          check=check, env=env or git_env()).stdout


def revise(rng, data):
    """make-test-repo's kind of edit."""
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 6)):
        i = rng.randrange(len(lines) + 1)
        kind = rng.random()
        if kind < 0.5 or not lines:
            lines.insert(i, b"# branch note %d" % rng.randrange(10**6))
        elif kind < 0.8 and i < len(lines):
            lines[i] = lines[i] + b"  # branch revision"
        elif i < len(lines):
            del lines[i]
    return b"\n".join(lines)


def make_branch(repo, apart, count, seed):
    """Commits on top of main~apart (see the module docstring) -> the branch tip (hex)."""
    rng = random.Random(seed)
    env = git_env({"GIT_INDEX_FILE": str(Path(repo) / "bench-index")})
    start = git(repo, "rev-parse", f"main~{apart}").decode().strip()
    at_start = git(repo, "ls-tree", "-r", "--name-only", start).decode().splitlines()
    present = set(at_start)
    # files main changed at most twice since the start: both sides edit them, and the merge stays
    # clean more often than with main's most edited files
    touched = git(repo, "log", "--format=", "--name-only", "--no-renames", f"{start}..main").decode().split()
    counts = {p: touched.count(p) for p in set(touched)}
    sizes = {line.split("\t", 1)[1]: line.split()[3] for line in
             git(repo, "ls-tree", "-r", "-l", start).decode().splitlines()}
    changed = sorted(p for p, n in counts.items()
                     if n <= 2 and p in present and p.endswith((".py", ".txt", ".html", ".js", ".css"))
                     and sizes[p].isdigit() and int(sizes[p]) >= 6000)
    untouched = [p for p in at_start if p not in counts]
    git(repo, "read-tree", start, env=env)
    tip = start
    for n in range(count):
        targets = [rng.choice(changed), rng.choice(untouched)]
        lines = []
        for path in dict.fromkeys(targets):
            data = git(repo, "cat-file", "blob", f"{tip}:{path}")
            oid = git(repo, "hash-object", "-w", "--stdin", data=revise(rng, data)).decode().strip()
            lines.append(f"100644 {oid}\t{path}\n")
        if rng.random() < 0.2:
            oid = git(repo, "hash-object", "-w", "--stdin", data=b"new module %d\n" % n).decode().strip()
            lines.append(f"100644 {oid}\tbranch/new_{n}.py\n")
        git(repo, "update-index", "--index-info", data="".join(lines).encode(), env=env)
        tree = git(repo, "write-tree", env=env).decode().strip()
        tip = git(repo, "commit-tree", tree, "-p", tip, "-m", f"pr: change {n}", env=env).decode().strip()
    os.unlink(Path(repo) / "bench-index")
    return tip


def prepare(cache, commits, apart, count):
    """(bare repository, store path, main oid hex, pr oid hex), built on first use."""
    cache.mkdir(parents=True, exist_ok=True)
    name = f"{commits}-{apart}-{count}"
    repo = cache / f"repo-{name}.git"
    if not (cache / f"repo-{name}.done").exists():
        print(f"building a {commits}-commit repository in {repo} (cached)", flush=True)
        subprocess.run(["rm", "-rf", str(repo)], check=True)
        make_test_repo(repo, commits)
        for seed in range(1, 50):
            tip = make_branch(repo, apart, count, seed)
            clean = subprocess.run(["git", "--git-dir", str(repo), "merge-tree", "--write-tree", "main", tip],
                                   capture_output=True, env=git_env(), check=False).returncode == 0
            if clean:
                git(repo, "update-ref", "refs/heads/pr", tip)
                print(f"  branch pr: seed {seed} merges cleanly", flush=True)
                break
        else:
            sys.exit("no seed gave a clean merge")
        (cache / f"repo-{name}.done").write_text("ok\n")
    store_path = cached_store(cache / f"store-{name}", repo)
    main = git(repo, "rev-parse", "main").decode().strip()
    pr = git(repo, "rev-parse", "pr").decode().strip()
    return repo, store_path, main, pr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=5000)
    ap.add_argument("--apart", type=int, default=500)
    ap.add_argument("--branch-commits", type=int, default=20)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("FORGE_MERGE_BENCH", Path(tempfile.gettempdir()) / "forge-merge-bench")))
    a = ap.parse_args()
    repo, store_path, main_hex, pr_hex = prepare(a.cache, a.commits, a.apart, a.branch_commits)
    ours, theirs = bytes.fromhex(main_hex), bytes.fromhex(pr_hex)

    git_out = git(repo, "merge-tree", "--write-tree", "--name-only", main_hex, pr_hex, check=False).decode()
    git_tree = git_out.split("\n", 1)[0]
    git_bases = sorted(git(repo, "merge-base", "--all", main_hex, pr_hex).decode().split())
    behind = git(repo, "rev-list", "--count", f"{pr_hex}..{main_hex}").decode().strip()
    ahead = git(repo, "rev-list", "--count", f"{main_hex}..{pr_hex}").decode().strip()
    changed_main = len(git(repo, "diff", "--name-only", git_bases[0], main_hex).split())
    changed_pr = len(git(repo, "diff", "--name-only", git_bases[0], pr_hex).split())

    def cold():
        with RepoStore.open(store_path) as fresh:
            return merge_commits(fresh, ours, theirs)

    result = cold()
    same = (sorted(b.hex() for b in result.bases) == git_bases and result.tree is not None
            and result.tree.hex() == git_tree)
    # forge cold and git alternate, run by run, so that a change in the machine's load hits both
    cold_times, git_times = [], []
    for _ in range(a.runs):
        cold_times.append(timed(cold, 1))
        git_times.append(timed(lambda: git(repo, "merge-tree", "--write-tree", main_hex, pr_hex), 1))
    cold_time, git_time = statistics.median(cold_times), statistics.median(git_times)
    with RepoStore.open(store_path) as store:
        merge_commits(store, ours, theirs)
        warm_time = timed(lambda: merge_commits(store, ours, theirs), a.runs)
    startup = timed(lambda: git(repo, "rev-parse", "main"), a.runs)

    print(f"{a.commits} commits; main is {behind} commits ahead of the merge base, pr {ahead}; "
          f"files changed since the base: main {changed_main}, pr {changed_pr}; "
          f"{len(result.new_objects)} new objects; median of {a.runs} runs")
    print(f"result: {'same bases and tree as git' if same else 'DIFFERS FROM GIT'} "
          f"({'clean' if result.clean else 'conflicts: ' + ', '.join(p.decode() for p in result.conflicts)})")
    print(f"{'':22} {'ms':>8} {'/git':>6}")
    for label, value in (("forge cold", cold_time), ("forge warm", warm_time), ("git merge-tree", git_time)):
        print(f"{label:22} {value * 1000:8.1f} {value / git_time:6.2f}")
    print(f"(a git process doing next to nothing, `git rev-parse main`: {startup * 1000:.1f} ms)")
    print(f"cold/git {cold_time / git_time:.2f} (target <= 2.0): {'met' if cold_time <= 2 * git_time else 'MISSED'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
