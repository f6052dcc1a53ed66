#!/usr/bin/env python3
"""Browsing benchmark: Forge's repository pages against cgit's, on one 5,000-commit repository.

    .venv/bin/python bench/browse.py                      # 5000 commits, 50 timed requests per page and side
    .venv/bin/python bench/browse.py --quick              # 500 commits, 10 requests per page
    .venv/bin/python bench/browse.py --only cgit          # one side only (cgit or forge)
    .venv/bin/python bench/browse.py --forge-url http://127.0.0.1:8000 --repo bench/browse
    .venv/bin/python bench/browse.py --json out.json

Pages: home, tree, subdirectory tree, blob of a large source file, its blame, log page 1, log page
100, one commit (bench/browse_pages.py picks them). Each request opens a new connection (no
keep-alive, as a browser's first view) and is timed on the client, from connecting to the last
byte of the body. Printed: p50 and p99 per page and side, the ratio of the p50s, HTML bytes, and
the checks: Forge p50 <= cgit p50, Forge p99 <= 50 ms, Forge's log page 100 p50 <= 1.5x page 1's.

Exit status: 0 every page answered 200 with the expected content on every side measured (a MISS
does not count), 1 some page did not (`ERROR <status>` or `WRONG` in its row), 2 the set-up failed.
See bench/README.md.
"""
import argparse
import datetime
import http.client
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

# Run as a script, only bench/ is on sys.path; the project root makes `bench.*` importable either way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.browse_cgit import CgitSide  # noqa: E402
from bench.browse_forge import ForgeBrowseSide  # noqa: E402
from bench.browse_pages import missing, pages, select  # noqa: E402
from bench.common import BenchError, log  # noqa: E402
from bench.fixtures import Fixtures  # noqa: E402
from bench.git_http import git_status_head  # noqa: E402
from bench.gitcli import Git  # noqa: E402
from bench.sides import ForgeSide  # noqa: E402

P99_TARGET_MS = 50.0
DEEP_TARGET = 1.5
REPO_NAME = "browse"
SHORT_ERRORS = {"ConnectionRefusedError": "refused", "ConnectionResetError": "reset", "TimeoutError": "timeout",
                "RemoteDisconnected": "disconnected", "IncompleteRead": "cut short"}


def fetch(base_url: str, path: str, timeout: float):
    """One GET on a new connection -> (status, seconds, body). Raises OSError/HTTPException."""
    parts = urlsplit(base_url)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close", "Accept": "text/html",
                                           "User-Agent": "forge-bench-browse"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return response.status, time.perf_counter() - started, body


def percentile(values, p):
    """Nearest rank: with 50 samples p99 is the slowest one."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Measurement:
    """One page on one side: its samples, or why there are none."""

    def __init__(self):
        self.samples, self.error, self.html_bytes, self.missing = [], None, None, []

    def record(self, status, seconds, body, page, timed):
        if status != 200:
            self.error = f"ERROR {status}"
            return False
        if self.html_bytes is None:
            self.html_bytes = len(body)
            self.missing = missing(page, body.decode("utf-8", "replace"))
            if self.missing:
                self.error = "WRONG"  # answered 200 without what the page must show
                return False
        if timed:
            self.samples.append(seconds)
        return True

    def figures(self) -> dict:
        ms = [s * 1000 for s in self.samples]
        return {"error": self.error, "html_bytes": self.html_bytes,
                "missing": [list(g)[:3] for g in self.missing],
                "p50_ms": statistics.median(ms) if ms and not self.error else None,
                "p99_ms": percentile(ms, 99) if ms and not self.error else None,
                "mean_ms": statistics.fmean(ms) if ms else None, "min_ms": min(ms) if ms else None,
                "samples_ms": [round(x, 3) for x in ms]}


def attempt(side, page, m: Measurement, timeout, timed):
    if m.error:
        return
    path = page.cgit if side.label == "cgit" else page.forge
    try:
        status, seconds, body = fetch(side.base_url, path, timeout)
    except (OSError, http.client.HTTPException) as e:
        m.error = "ERROR " + SHORT_ERRORS.get(type(e).__name__, type(e).__name__)
        log(f"  {side.label:<5} {page.label}: {e}")
        return
    if not m.record(status, seconds, body, page, timed):
        log(f"  {side.label:<5} {page.label}: {m.error} for {path}"
            + (f" (missing {[list(g)[:2] for g in m.missing]})" if m.missing else ""))


def run(sides, page_list, requests, warmup, timeout):
    """Warm every page up on every side, then time `requests` requests per page, alternating the
    sides request by request so that neither gets a quieter moment of the machine."""
    results = {p.key: {s.label: Measurement() for s in sides} for p in page_list}
    log(f"warm-up: {warmup} request(s) per page and side")
    for page in page_list:
        for _ in range(warmup):
            for side in sides:
                attempt(side, page, results[page.key][side.label], timeout, timed=False)
    for page in page_list:
        started = time.perf_counter()
        for i in range(requests):
            for side in (sides if i % 2 == 0 else list(reversed(sides))):
                attempt(side, page, results[page.key][side.label], timeout, timed=True)
        summary = []
        for side in sides:
            f = results[page.key][side.label].figures()
            summary.append(f"{side.label} {f['error']}" if f["error"] else
                           f"{side.label} p50 {f['p50_ms']:.1f} ms p99 {f['p99_ms']:.1f} ms")
        log(f"  {page.label:<28} " + ", ".join(summary) + f"  ({time.perf_counter() - started:.1f} s)")
    return results


def results_table(page_list, results, labels) -> dict:
    rows = []
    for page in page_list:
        row = {"page": page.key, "label": page.label, "cgit_url": page.cgit, "forge_url": page.forge}
        for label in labels:
            row[label] = results[page.key][label].figures()
        cgit, forge = row.get("cgit"), row.get("forge")
        if forge and forge["p50_ms"] is not None:
            row["p99_ok"] = forge["p99_ms"] <= P99_TARGET_MS
            if cgit and cgit["p50_ms"] is not None:
                row["ratio"] = forge["p50_ms"] / cgit["p50_ms"]
                row["p50_ok"] = forge["p50_ms"] <= cgit["p50_ms"]
        rows.append(row)
    deep = {}
    by_key = {r["page"]: r for r in rows}
    for label in labels:
        first, last = by_key["log1"][label]["p50_ms"], by_key["logN"][label]["p50_ms"]
        if first and last is not None:
            deep[label] = last / first
    errors = [f"{r['label']} on {label}: {r[label]['error']}" for r in rows for label in labels if r[label]["error"]]
    return {"pages": rows, "deep_log_ratio": deep, "deep_log_target": DEEP_TARGET,
            "p99_target_ms": P99_TARGET_MS, "errors": errors}


def verdict(ok):
    return "-" if ok is None else ("PASS" if ok else "MISS")


def print_report(meta, res, labels):
    print(f"Browsing benchmark, {meta['date']}: {meta['commits']} commits, {meta['requests']} timed requests "
          f"per page and side after {meta['warmup']} warm-up, a new connection per request")
    for label in labels:
        print(f"{label}: {meta['sides'][label]}")
    print(f"pages: {meta['selection']}")
    print()
    head = (f"{'page':<24}{'cgit p50':>9}{'p99':>7}{'forge p50':>11}{'p99':>7}{'forge/cgit':>11}"
            f"{'cgit KiB':>10}{'forge KiB':>10}  {'p50≤cgit':<9}{'p99≤50ms':<9}")
    print(head)
    print("-" * len(head))

    def cell(f, width_p50, width_p99):
        if f is None:
            return f"{'-':>{width_p50}}{'-':>{width_p99}}"
        if f["error"]:
            return " " + f"{f['error']:>{width_p50 + width_p99 - 1}}"
        return f"{f['p50_ms']:>{width_p50}.1f}{f['p99_ms']:>{width_p99}.1f}"

    def kib(f):
        return "-" if f is None or f["html_bytes"] is None else f"{f['html_bytes'] / 1024:.1f}"

    for row in res["pages"]:
        cgit, forge = row.get("cgit"), row.get("forge")
        ratio = f"{row['ratio']:.2f}×" if "ratio" in row else "-"
        print(f"{row['label']:<24}{cell(cgit, 9, 7)}{cell(forge, 11, 7)}{ratio:>11}{kib(cgit):>10}{kib(forge):>10}  "
              f"{verdict(row.get('p50_ok')):<9}{verdict(row.get('p99_ok')):<9}")
    print()
    deep = res["deep_log_ratio"]
    page = meta["deep_page"]
    for label in labels:
        if label in deep:
            target = f"  target ≤ {DEEP_TARGET}×  {verdict(deep[label] <= DEEP_TARGET)}" if label == "forge" else ""
            print(f"log page {page} / page 1 (p50), {label}: {deep[label]:.2f}×{target}")
    slowest = " (the slowest of them)" if meta["requests"] <= 100 else ""
    print(f"times in ms (client wall clock: connect, request, whole body); p99: nearest rank of "
          f"{meta['requests']} samples{slowest}")
    for row in res["pages"]:
        for label in labels:
            if row[label]["missing"]:
                print(f"  {row['label']} on {label}: answered 200 without any of {row[label]['missing']}")
    if res["errors"]:
        print(f"{len(res['errors'])} page(s) failed: " + "; ".join(res["errors"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, help="commits in the test repository (default 5000, --quick 500)")
    ap.add_argument("--requests", type=int, help="timed requests per page and side (default 50, --quick 10)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed requests per page and side first (default 5)")
    ap.add_argument("--quick", action="store_true", help="smoke test: --commits 500 --requests 10 unless given")
    ap.add_argument("--only", choices=("cgit", "forge"), help="measure one side only")
    ap.add_argument("--forge-url", help="measure this running Forge instead of starting one (needs --repo)")
    ap.add_argument("--repo", help="OWNER/NAME of the test repository on --forge-url")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--cache", default=os.environ.get("FORGE_BENCH_CACHE",
                                                      os.path.join(tempfile.gettempdir(), "forge-bench-cache")),
                    help="where built test repositories are kept between runs (env FORGE_BENCH_CACHE)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (Forge's data, gunicorn.log, cgitrc)")
    args = ap.parse_args(argv)
    if args.commits is None:
        args.commits = 500 if args.quick else 5000
    if args.requests is None:
        args.requests = 10 if args.quick else 50
    if args.requests < 1 or args.warmup < 0:
        ap.error("--requests must be at least 1 and --warmup not negative")
    if args.forge_url and not args.repo:
        ap.error("--forge-url needs --repo OWNER/NAME")

    work = Path(tempfile.mkdtemp(prefix="forge-bench-browse-"))
    git = Git(work / "home")
    checkout = git_status_head()
    load_at_start = os.getloadavg()
    started = time.time()
    sides = []
    try:
        cache = Path(args.cache)
        cache.mkdir(parents=True, exist_ok=True)
        fx = Fixtures(git, args.commits, cache)
        sel = select(git, fx.full)
        log(f"pages: {sel.describe()}")
        forge_repo = args.repo or f"{ForgeSide.USER}/{REPO_NAME}"
        if args.only != "forge":
            sides.append(CgitSide(work, forge_repo.split("/")[1], fx.full))
        if args.only != "cgit":
            if args.forge_url:
                sides.append(ForgeBrowseSide.external(args.forge_url, args.repo))
            else:
                sides.append(ForgeBrowseSide.start(work, git, fx.full, REPO_NAME))
        page_list = pages(git, fx.full, sel, forge_repo.split("/")[1], forge_repo)
        labels = [s.label for s in sides]
        results = run(sides, page_list, args.requests, args.warmup, args.timeout)
        res = results_table(page_list, results, labels)
        meta = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "commits": args.commits, "requests": args.requests, "warmup": args.warmup,
            "sides": {s.label: s.describe() for s in sides}, "selection": sel.describe(),
            "deep_page": sel.deep_page, "git_version": git.out("--version"), "python": platform.python_version(),
            "cpus": os.cpu_count(), "forge_checkout": checkout,
            "wall_seconds": round(time.time() - started, 1),
            "loadavg_at_start": [round(x, 2) for x in load_at_start],
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        }
        print_report(meta, res, labels)
        print(f"{meta['cpus']} CPUs, {meta['git_version']}, Python {meta['python']}, load average "
              f"{meta['loadavg_at_start'][0]} at start and {meta['loadavg_at_end'][0]} at the end, "
              f"{meta['wall_seconds']} s; Forge checkout {checkout['commit']} ({checkout['diff']})")
        if args.keep:
            print(f"work directory kept: {work}")
        if args.json:
            Path(args.json).write_text(json.dumps({"meta": meta, **res}, indent=2) + "\n")
        return 1 if res["errors"] else 0
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
