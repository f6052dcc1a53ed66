#!/usr/bin/env python3
"""Smart-HTTP benchmark: Forge against `git http-backend`, with the real git CLI on loopback.

    .venv/bin/python bench/git_http.py [--commits 5000] [--runs 3] [--json out.json]
    .venv/bin/python bench/git_http.py --quick          # smoke test: --commits 300 --runs 1
    .venv/bin/python bench/git_http.py --self-test      # git http-backend on both sides (ratios ~1.0)
    .venv/bin/python bench/git_http.py --probe          # does Forge serve smart HTTP yet? (exit 0 if so)

See bench/README.md for what is measured and how.

This module holds the Bench (what is timed and checked, and the figures it collects) and main();
beside it: common.py (paths, log, BenchError), gitcli.py (the isolated git client), procs.py
(server process trees and RSS sampling), sides.py (the two servers), fixtures.py (the cached test
repositories) and report.py (the printed report).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, only bench/ is on sys.path; the project root makes `bench.*` importable either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MIB, ROOT, BenchError, copy_tree, dir_size, log  # noqa: E402
from bench.fixtures import FETCH_DEPTHS, Fixtures  # noqa: E402
from bench.gitcli import Git  # noqa: E402
from bench.procs import RssSampler, rss_bytes  # noqa: E402
from bench.report import print_context, print_report  # noqa: E402
from bench.sides import ForgeSide, GitSide  # noqa: E402

# operation key, label, target ratio forge/git
OPERATIONS = [
    ("push_initial", "initial push (all refs)", 1.5),
    ("clone", "full clone (--bare)", 1.0),
    ("fetch_1", "fetch, 1 commit behind", 2.0),
    ("fetch_200", "fetch, 200 commits behind", 2.0),
    ("push_1", "push, 1 new commit", 1.5),
]
SIZE_TARGET = 1.3


class Bench:
    """Runs every operation against both sides, checks what each left behind, and collects the
    times, stored sizes, server RSS and errors that results() hands to the report."""

    def __init__(self, args, work: Path, git: Git, fx: Fixtures, sides):
        self.args, self.work, self.git, self.fx, self.sides = args, work, git, fx, sides
        self.times = {op: {s.label: [] for s in sides} for op, _, _ in OPERATIONS}
        self.errors = []
        self.rss = {s.label: {"at_start_mib": rss_bytes(s.server_pids()) / MIB, "before_mib": None,
                              "peak_mib": [], "samples": []} for s in sides}
        self.scratch = work / "scratch"
        self.scratch.mkdir()
        self.serving = "bench-1"  # the repository filled by the first initial push, used from then on

    def order(self, run: int):
        """Alternate which server goes first, so neither always gets the warm caches."""
        return self.sides if run % 2 == 0 else list(reversed(self.sides))

    def attempt(self, op, side, fn):
        try:
            seconds = fn()
        except BenchError as e:
            self.errors.append(f"{op} on {side.label}: {e}")
            log(f"FAILED {op} on {side.label}: {e}")
            return None
        self.times[op][side.label].append(seconds)
        log(f"  {op:<13} {side.label:<6} {seconds:8.3f} s")
        return seconds

    def fresh(self, name) -> Path:
        path = self.scratch / name
        if path.exists():
            shutil.rmtree(path)
        return path

    # -- operations

    def push_initial(self, side, run: int) -> float:
        name = f"bench-{run + 1}"
        url = side.create_repo(name)
        seconds = self.git.timed("--git-dir", self.fx.full, "push", "-q", "--mirror", url)
        got = self.remote_refs(url)
        if got != self.fx.refs:
            missing = sorted(set(self.fx.refs.items()) ^ set(got.items()))[:5]
            raise BenchError(f"after the push the server's refs differ from the pushed ones, e.g. {missing}")
        return seconds

    def remote_refs(self, url) -> dict[str, str]:
        out = self.git.out("ls-remote", "--heads", "--tags", url)
        return {name: oid for oid, name in (line.split() for line in out.splitlines()) if not name.endswith("^{}")}

    def clone(self, side, run: int) -> float:
        dest = self.fresh(f"clone-{side.label}")
        sampler = RssSampler(side.server_pids)
        before = rss_bytes(side.server_pids())
        if self.rss[side.label]["before_mib"] is None:
            self.rss[side.label]["before_mib"] = before / MIB
        sampler.start()
        try:
            seconds = self.git.timed("clone", "-q", "--bare", side.url(self.serving), dest)
        finally:
            peak = sampler.stop()
        self.rss[side.label]["peak_mib"].append(peak / MIB)
        self.rss[side.label]["samples"].append(sampler.samples)
        log(f"  {'':13} {side.label:<6} server RSS {before / MIB:.1f} MiB before, {peak / MIB:.1f} MiB peak"
            f" ({sampler.samples} samples)")
        return seconds

    def fetch(self, side, run: int, depth: int) -> float:
        dest = self.fresh(f"fetch-{side.label}")
        copy_tree(self.fx.dir / f"base-{depth}.git", dest)
        self.git.run("--git-dir", dest, "config", "remote.origin.url", side.url(self.serving))
        seconds = self.git.timed("--git-dir", dest, "fetch", "-q", "origin")
        got = self.git.out("--git-dir", dest, "rev-parse", "refs/heads/main")
        if got != self.fx.main:
            raise BenchError(f"after the fetch main is {got}, expected {self.fx.main}")
        shutil.rmtree(dest)
        return seconds

    def push_one(self, side, run: int) -> float:
        dest = self.fresh(f"push-{side.label}")
        copy_tree(self.fx.dir / "worktree", dest)
        git = self.git
        url = side.url(self.serving)
        git.run("-C", dest, "remote", "set-url", "origin", url)
        path = self.push_file(dest)
        with open(dest / path, "ab") as f:
            f.write(f"# bench: one more line, run {run + 1} against {side.label}\n".encode())
        git.run("-C", dest, "commit", "-q", "-a", "-m", f"Bench push {run + 1}")
        new = git.out("-C", dest, "rev-parse", "HEAD")
        seconds = git.timed("-C", dest, "push", "-q", "origin", "HEAD:refs/heads/main")
        got = self.remote_refs(url).get("refs/heads/main")
        if got != new:
            raise BenchError(f"after the push the server's main is {got}, expected {new}")
        # put main back (not timed) so that every run pushes onto the same state
        git.run("-C", dest, "push", "-q", "--force", "origin", f"{self.fx.main}:refs/heads/main")
        shutil.rmtree(dest)
        return seconds

    def push_file(self, worktree: Path) -> str:
        if not hasattr(self, "_push_file"):
            files = self.git.out("-C", worktree, "ls-files", "*.py").splitlines()
            self._push_file = sorted(files, key=lambda p: (p.count("/"), p))[len(files) // 2]
        return self._push_file

    # -- the whole thing

    def run(self):
        runs = self.args.runs
        log(f"initial push of {len(self.fx.refs)} refs, {self.fx.objects} objects")
        for run in range(runs):
            for side in self.order(run):
                self.attempt("push_initial", side, lambda: self.push_initial(side, run))
        # the serving repository must have arrived on both sides
        for side in self.sides:
            if not self.times["push_initial"][side.label]:
                self.errors.append(f"{side.label}: no initial push succeeded; nothing else can be measured")
                return
        self.measure_size()
        # not timed; also warms both servers (and the page cache) before the timed clones
        self.verify_clones()
        log("full clone")
        for run in range(runs):
            for side in self.order(run):
                self.attempt("clone", side, lambda: self.clone(side, run))
        for depth in FETCH_DEPTHS:
            log(f"fetch, {depth} commit{'s' if depth > 1 else ''} behind")
            for run in range(runs):
                for side in self.order(run):
                    self.attempt(f"fetch_{depth}", side, lambda: self.fetch(side, run, depth))
        log("push of one new commit")
        for run in range(runs):
            for side in self.order(run):
                self.attempt("push_1", side, lambda: self.push_one(side, run))

    def measure_size(self):
        self.size = {}
        for side in self.sides:
            try:
                self.size[side.label] = side.stored_size(self.serving)
            except (BenchError, OSError, sqlite3.Error) as e:
                self.errors.append(f"stored size on {side.label}: {e}")
                self.size[side.label] = None
        # the reference: git's own packed size of the same repository (git repack -a -d, defaults)
        git_side = self.sides[0]
        copy = self.fresh("repack.git")
        copy_tree(git_side.repo_path(self.serving), copy)
        self.size["git_pushed"] = self.size.get("git")
        self.git.run("--git-dir", copy, "repack", "-q", "-a", "-d")
        self.size["git"] = dir_size(copy / "objects" / "pack")
        shutil.rmtree(copy)
        for side in self.sides:
            log(f"  stored size {side.label:<6} {self.size[side.label] / MIB if self.size[side.label] else 0:8.2f} MiB")

    def verify_clones(self):
        listings = {}
        for side in self.sides:
            dest = self.scratch / f"verify-{side.label}"
            try:
                self.git.run("clone", "-q", "--bare", side.url(self.serving), dest)
                out = self.git.run("--git-dir", dest, "rev-list", "--all", "--objects").stdout
                listings[side.label] = sorted(out.splitlines())
                self.git.run("--git-dir", dest, "fsck", "--strict", "--no-progress", "--no-dangling")
            except BenchError as e:
                self.errors.append(f"verification clone on {side.label}: {e}")
                listings[side.label] = None
            shutil.rmtree(dest, ignore_errors=True)
        a, b = (listings[s.label] for s in self.sides)
        self.correct = a is not None and a == b and len(a) > 0
        if not self.correct:
            detail = "a clone failed" if a is None or b is None else \
                f"{len(a)} vs {len(b)} lines; first difference: {next(iter(sorted(set(a) ^ set(b))), None)}"
            self.errors.append(f"CORRECTNESS: the clones' `rev-list --all --objects` differ ({detail})")
        else:
            log(f"  verified: both clones list the same {len(a)} objects (and pass fsck --strict)")

    # -- report

    def results(self) -> dict:
        git_label, forge_label = (s.label for s in self.sides)
        rows = []
        for op, label, target in OPERATIONS:
            g, f = self.times[op][git_label], self.times[op][forge_label]
            gm = statistics.median(g) if g else None
            fm = statistics.median(f) if f else None
            ratio = fm / gm if gm and fm is not None else None
            rows.append({"operation": op, "label": label, "git_s": gm, "forge_s": fm, "ratio": ratio,
                         "target": target, "pass": ratio is not None and ratio <= target,
                         "git_runs": g, "forge_runs": f})
        size = getattr(self, "size", {})
        gs, fs = size.get("git"), size.get(forge_label)
        size_ratio = fs / gs if gs and fs else None
        rss = {}
        for side in self.sides:
            r = self.rss[side.label]
            rss[side.label] = {"at_start_mib": r["at_start_mib"], "before_mib": r["before_mib"], "peak_mib": max(r["peak_mib"]) if r["peak_mib"] else None,
                               "peak_mib_runs": r["peak_mib"], "samples": r["samples"]}
        return {
            "operations": rows,
            "size": {"git_repacked_bytes": gs, "git_as_pushed_bytes": size.get("git_pushed"),
                     "forge_bytes": fs, "ratio": size_ratio, "target": SIZE_TARGET,
                     "pass": size_ratio is not None and size_ratio <= SIZE_TARGET},
            "rss": rss,
            "correct": getattr(self, "correct", False),
            "errors": self.errors,
        }


def probe(args, work, git):
    """Start Forge, create a repository, ask for its upload-pack refs. Exit 0 when that answers 200."""
    forge = ForgeSide(work, git)
    try:
        forge.create_repo("probe")
        status = forge.info_refs_status("probe")
        print(f"GET /{forge.USER}/probe.git/info/refs?service=git-upload-pack -> {status}", flush=True)
        return 0 if status == 200 else 1
    finally:
        forge.stop()


def git_status_head():
    proc = subprocess.run(["git", "-C", str(ROOT), "status", "--short"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--", ".", ":!bench"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    # the state of the code (not bench/ or tests/): tracked changes plus untracked files
    digest = hashlib.sha1(diff.stdout)
    untracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--others", "--exclude-standard", "--",
                                ".", ":!bench", ":!tests", ":!.venv"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    names = sorted(n for n in untracked.stdout.decode().split("\0") if n)
    for name in names:
        try:
            digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes())
        except OSError:
            pass
    changed = bool(diff.stdout or names)
    return {"commit": head.stdout.decode().strip() or None, "status": proc.stdout.decode().splitlines()[:20],
            "diff": f"uncommitted changes (sha1 {digest.hexdigest()[:10]})" if changed else "no uncommitted changes"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=None, help="commits in the test repository (default 5000)")
    ap.add_argument("--runs", type=int, default=None, help="runs per operation; the median is reported (default 3)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--quick", action="store_true", help="smoke test: --commits 300 --runs 1 unless given")
    ap.add_argument("--self-test", action="store_true",
                    help="serve both sides with git http-backend (validates the harness; ratios come out ~1.0)")
    ap.add_argument("--probe", action="store_true", help="only check whether Forge answers smart HTTP (exit 0 if so)")
    ap.add_argument("--cache", default=os.environ.get("FORGE_BENCH_CACHE",
                                                      os.path.join(tempfile.gettempdir(), "forge-bench-cache")),
                    help="where built test repositories are kept between runs (env FORGE_BENCH_CACHE)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (servers' data, logs)")
    args = ap.parse_args(argv)
    if args.commits is None:
        args.commits = 300 if args.quick else 5000
    if args.runs is None:
        args.runs = 1 if args.quick else 3

    work = Path(tempfile.mkdtemp(prefix="forge-bench-"))
    git = Git(work / "home")
    checkout_at_start = git_status_head()
    load_at_start = os.getloadavg()
    sides = []
    started = time.time()
    try:
        if args.probe:
            return probe(args, work, git)
        cache = Path(args.cache)
        cache.mkdir(parents=True, exist_ok=True)
        fx = Fixtures(git, args.commits, cache)
        sides.append(GitSide(work, git))
        sides.append(GitSide(work, git, name="selftest") if args.self_test else ForgeSide(work, git))
        if args.self_test:
            sides[1].label = "forge"  # the second column, served by git here
        else:
            sides[1].create_repo("probe")
            status = sides[1].info_refs_status("probe")
            if status != 200:
                raise BenchError(f"Forge answers {status} to GET info/refs?service=git-upload-pack: "
                                 "smart HTTP is not there yet")
        bench = Bench(args, work, git, fx, sides)
        bench.run()
        res = bench.results()
        meta = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "mode": "self-test" if args.self_test else "forge",
            "commits": args.commits, "runs": args.runs, "objects": fx.objects, "refs": len(fx.refs),
            "git_side": sides[0].describe(), "forge_side": sides[1].describe(),
            "git_version": git.out("--version"), "python": platform.python_version(),
            "cpus": os.cpu_count(), "forge_checkout": checkout_at_start,
            "forge_checkout_at_end": git_status_head(),
            "wall_seconds": round(time.time() - started, 1),
            "loadavg_at_start": [round(x, 2) for x in load_at_start],
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        }
        print_report(meta, res, "forge" if not args.self_test else "forge(git)")
        print_context(meta, work, args.keep)
        if args.json:
            Path(args.json).write_text(json.dumps({"meta": meta, **res}, indent=2) + "\n")
        return 0 if res["correct"] and not res["errors"] else 1
    except BenchError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 2
    finally:
        for side in sides:
            side.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
