"""Blame timings: Forge's store blame against `git blame` on the same bare repository.

    .venv/bin/python bench/blame_timings.py [--commits 5000] [--files 5] [--runs 5] [--cache DIR]

Builds (once, cached under --cache, default $TMPDIR/forge-blame-bench) a make-test-repo repository
of N commits and a store mirroring it, picks the files with the most revisions at main (plus the
largest text file, as "large"), checks that both give the same blame, then prints per file the median
wall time of `blame()` on a freshly opened store (cold: no cached objects or commits), on a store
already used once (warm), and of `git blame --porcelain main -- PATH` (a process of its own, as cgit's
CGI is). Target: within 2x of git per file.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repos.store import RepoStore  # noqa: E402
from repos.store.blame import BlameTooLarge, blame  # noqa: E402
from bench.common import timed  # noqa: E402
from bench.stores import prepare  # noqa: E402
from tests.support.gitcli import git_env  # noqa: E402

HEADER = re.compile(rb"([0-9a-f]{40}) (\d+) \d+(?: \d+)?")


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, check=True,
                          env=git_env()).stdout


def pick_files(repo, count):
    present = {}
    for line in git(repo, "ls-tree", "-r", "-l", "main").decode().splitlines():
        meta, path = line.split("\t", 1)
        present[path] = int(meta.split()[3])
    revisions = Counter(git(repo, "log", "--format=", "--name-only", "main").decode().split())
    ranked = sorted((p for p in present if revisions[p]), key=lambda p: (-revisions[p], p))
    chosen = [(p, "most revised") for p in ranked[:count]]
    for path in sorted(present, key=lambda p: -present[p]):
        if path.endswith((".js", ".py", ".po", ".txt", ".html", ".css")):
            chosen.append((path, "large"))
            break
    return chosen, revisions, present


def git_lines(repo, path):
    out = git(repo, "blame", "--porcelain", "main", "--", path)
    names, result, current = {}, [], None
    for line in out.split(b"\n"):
        if line.startswith(b"\t"):
            result.append((current[0], current[1], names[current[0]]))
        elif HEADER.fullmatch(line):
            m = HEADER.fullmatch(line)
            current = (m.group(1).decode(), int(m.group(2)))
        elif line.startswith(b"filename "):
            names[current[0]] = line[9:].decode("utf-8", "surrogateescape")
    return result


def our_lines(result):
    return [(r.commit.hex(), r.orig_start + k, r.orig_path) for r in result.ranges for k in range(r.count)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=5000)
    ap.add_argument("--files", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("FORGE_BLAME_BENCH", Path(tempfile.gettempdir()) / "forge-blame-bench")))
    a = ap.parse_args()
    repo, store_path = prepare(a.cache, a.commits)
    files, revisions, sizes = pick_files(repo, a.files)
    with RepoStore.open(store_path) as store:
        commit = store.reader.peel(store.ref("refs/heads/main"))
    print(f"{a.commits} commits; median of {a.runs} runs; times in ms\n")
    print(f"{'file':66} {'revs':>4} {'lines':>6} {'cold':>7} {'warm':>7} {'git':>7} {'cold/git':>8} {'warm/git':>8}")
    worst = 0.0
    for path, why in files:
        def cold():
            with RepoStore.open(store_path) as fresh:
                return blame(fresh, commit, path)

        try:
            result = cold()
        except BlameTooLarge:
            print(f"{path}: refused (binary or too large)")
            continue
        same = our_lines(result) == git_lines(repo, path)
        cold_time = timed(cold, a.runs)
        with RepoStore.open(store_path) as store:
            blame(store, commit, path)
            warm_time = timed(lambda: blame(store, commit, path), a.runs)
        git_time = timed(lambda: git(repo, "blame", "--porcelain", "main", "--", path), a.runs)
        worst = max(worst, cold_time / git_time)
        label = f"{path} ({why})" if why != "most revised" else path
        print(f"{label[-66:]:66} {revisions[path]:>4} {len(result.lines):>6} {cold_time * 1000:7.1f} "
              f"{warm_time * 1000:7.1f} {git_time * 1000:7.1f} {cold_time / git_time:8.2f} "
              f"{warm_time / git_time:8.2f}{'' if same else '  DIFFERS FROM GIT'}")
    startup = timed(lambda: git(repo, "rev-parse", "main"), a.runs)
    print(f"\n(a git process doing next to nothing, `git rev-parse main`: {startup * 1000:.1f} ms)")
    print(f"worst cold/git ratio {worst:.2f} (target <= 2.0): {'met' if worst <= 2.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
