#!/usr/bin/env python3
"""Code search benchmark: Forge's search_code against `git grep` on the same bare repository.

    .venv/bin/python bench/search.py                 # 5000 commits, 20 queries per kind, 3 runs each
    .venv/bin/python bench/search.py --commits 500 --runs 1   # quicker
    .venv/bin/python bench/search.py --json out.json

Set-up (cached under --cache, default $TMPDIR/forge-search-bench): a make-test-repo repository,
mirrored into a store as a push lands it. Not cached: the index build (timed and printed, with its
size against the store's).

Queries, chosen deterministically (seeded) from the text at main: 20 of each kind
(words, phrases and identifiers drawn from all their occurrences, so common ones come up often)
- word: a word of 4+ letters          git grep -n -I -F -w -i -e WORD main
- phrase: two words as in the text    git grep -n -I -F -w -i -e "A B" main
- identifier with '_'                 git grep -n -I -F -i -e IDENT main
- rare string (in one file only)      git grep -n -I -F -i -e STRING main
- @path: filter + a word              git grep -n -I -F -w -i -e WORD main -- DIR/
Forge: search_code(store, parse_query(q)) for the first page (20 files), on an open store (warm),
in process. git: the whole command, wall clock. Each query runs --runs times per side (alternating),
its median is kept; per kind the median over the queries and the ratio forge/git are printed, and
whether the line counts agree (Forge's total_lines against git grep's output lines).
Target: ratio <= 0.25.
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repos.store import RepoStore  # noqa: E402
from repos.store.search import (index_commits, index_stats, parse_query, rebuild_index, search_code,  # noqa: E402
                                update_index)
from repos.store.trees import TreeCache, changed_paths  # noqa: E402
from bench.stores import prepare  # noqa: E402
from tests.support.gitcli import git_env  # noqa: E402

TARGET = 0.25
KINDS = ["word", "phrase", "identifier", "rare", "path"]


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, env=git_env(),
                          check=True).stdout


def texts_at_main(repo):
    """{path: text} of the text files at main (as the queries are picked from them)."""
    listing = git(repo, "ls-tree", "-r", "-z", "main").split(b"\0")
    entries = [e.split(b"\t", 1) for e in listing if e]
    blobs = [(path.decode("utf-8", "replace"), meta.split()[2].decode()) for meta, path in entries
             if meta.split()[1] == b"blob" and meta.split()[0] in (b"100644", b"100755")]
    proc = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "--batch"], env=git_env(), check=True,
                          input="".join(oid + "\n" for _, oid in blobs).encode(), capture_output=True)
    data, pos, texts = proc.stdout, 0, {}
    for path, _ in blobs:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        body = data[header_end + 1:header_end + 1 + size]
        pos = header_end + 1 + size + 1
        if b"\0" not in body[:8000] and size <= 1 << 20:
            texts[path] = body.decode("utf-8", "replace")
    return texts


def distinct(rng, occurrences, count):
    picked = []
    while len(picked) < count:
        item = rng.choice(occurrences)
        if item not in picked:
            picked.append(item)
    return picked


def pick_queries(texts, per_kind, seed=6):
    """{kind: [(forge query text, git grep arguments)]}, deterministic for one repository."""
    rng = random.Random(seed)
    paths = sorted(texts)
    code_paths = [p for p in paths if p.endswith((".py", ".js", ".html", ".txt"))]
    doc_freq = {}
    for p in code_paths:
        for token in set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]{7,}\b", texts[p])):
            doc_freq[token] = doc_freq.get(token, 0) + 1
    # Words, phrases and identifiers are drawn from their occurrences (so common ones come up as often
    # as they are written), rare strings from those in one file only.
    words = [w for p in code_paths for w in re.findall(r"\b[a-z]{4,}\b", texts[p])]
    phrases = [m.group(0) for p in code_paths for m in re.finditer(r"\b[a-z]{3,} [a-z]{3,}\b", texts[p])]
    idents = [w for p in code_paths for w in re.findall(r"\b[a-z]+_[a-z_]+\b", texts[p]) if len(w) >= 5]
    rare = sorted(t for t, n in doc_freq.items() if n == 1 and "_" not in t)
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in code_paths if "/" in p})
    out = {
        "word": [(w, ["-F", "-w", "-i", "-e", w]) for w in distinct(rng, words, per_kind)],
        "phrase": [(f'"{p}"', ["-F", "-w", "-i", "-e", p]) for p in distinct(rng, phrases, per_kind)],
        "identifier": [(i, ["-F", "-i", "-e", i]) for i in distinct(rng, idents, per_kind)],
        "rare": [(f"lit:{r}", ["-F", "-i", "-e", r]) for r in rng.sample(rare, per_kind)],
    }
    path_queries = []
    for d in rng.sample(dirs, len(dirs)):
        under = [p for p in code_paths if p.startswith(d)]
        candidates = sorted({w for p in under for w in re.findall(r"\b[a-z]{4,}\b", texts[p])})
        if candidates:
            w = rng.choice(candidates)
            path_queries.append((f"@path:{d} {w}", ["-F", "-w", "-i", "-e", w, "main", "--", d]))
        if len(path_queries) == per_kind:
            break
    out["path"] = path_queries
    return out


def time_forge(store, text):
    started = time.perf_counter()
    results = search_code(store, parse_query(text))
    return time.perf_counter() - started, results.total_lines


def time_git(repo, args):
    if "main" not in args:
        args = args + ["main"]
    started = time.perf_counter()
    proc = subprocess.run(["git", "--git-dir", str(repo), "grep", "-n", "-I", *args], capture_output=True,
                          env=git_env())
    elapsed = time.perf_counter() - started
    assert proc.returncode in (0, 1), proc.stderr
    return elapsed, proc.stdout.count(b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("FORGE_BENCH_CACHE", tempfile.gettempdir())) / "forge-search-bench")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    repo, store_path = prepare(a.cache, a.commits)
    report = {"commits": a.commits}
    with RepoStore.open(store_path) as store:
        main_oid = store.ref("refs/heads/main")
        started = time.perf_counter()
        stats = rebuild_index(store, main_oid)
        build = time.perf_counter() - started
        store.con.execute("DELETE FROM search_commit_text")
        store.con.execute("DELETE FROM search_commits")
        started = time.perf_counter()
        added = index_commits(store)
        commits_time = time.perf_counter() - started
        sizes = index_stats(store)
        pack_bytes = store.stats()["pack_bytes"]
        repo_bytes = sum(f.stat().st_size for f in Path(repo).rglob("*") if f.is_file())
        print(f"index build: {build:.2f} s for {stats.files} files ({stats.bytes / 1e6:.1f} MB of text; skipped "
              f"{stats.skipped_binary} binary, {stats.skipped_large} over 1 MiB); commits: {added} in "
              f"{commits_time:.2f} s")
        print(f"index size: {sizes['index_bytes'] / 1e6:.1f} MB (text {sizes['content_bytes'] / 1e6:.1f} MB, "
              f"trigram FTS {sum(v for k, v in sizes['tables'].items() if k.startswith('search_trigram')) / 1e6:.1f}"
              f" MB); store without it {(sizes['store_bytes'] - sizes['index_bytes']) / 1e6:.1f} MB "
              f"(packs {pack_bytes / 1e6:.1f} MB); bare git repository {repo_bytes / 1e6:.1f} MB; "
              f"index/store-without-index = {sizes['index_bytes'] / (sizes['store_bytes'] - sizes['index_bytes']):.2f}")
        report.update(build_s=build, stats=stats.__dict__, sizes=sizes, repo_bytes=repo_bytes)
        # Incremental updates, as a push moves main: back 1 and 20 first-parent commits, and forward again.
        for back in (1, 20):
            older = main_oid
            for _ in range(back):
                older = store.graph.node(older).parents[0]
            started = time.perf_counter()
            update_index(store, main_oid, older)
            down = time.perf_counter() - started
            started = time.perf_counter()
            update_index(store, older, main_oid)
            up = time.perf_counter() - started
            changed = len(changed_paths(TreeCache(store.reader), store.graph.node(older).tree,
                                        store.graph.node(main_oid).tree))
            print(f"update_index main~{back} -> main ({changed} paths changed): {up * 1000:.1f} ms "
                  f"(and back: {down * 1000:.1f} ms)")
            report[f"update_{back}_s"] = up
    with RepoStore.open(store_path) as cold:
        started = time.perf_counter()
        search_code(cold, parse_query("lit:get_queryset"))
        print(f"first query on a freshly opened store (lit:get_queryset): "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")
    with RepoStore.open(store_path) as store:
        queries = pick_queries(texts_at_main(repo), a.queries)
        print(f"\n{'kind':<11} {'forge p50 ms':>12} {'git p50 ms':>11} {'ratio':>6}  counts  target")
        report["kinds"] = {}
        for kind in KINDS:
            forge_times, git_times, disagree = [], [], []
            for text, args in queries[kind]:
                fs, gs = [], []
                for run in range(a.runs):
                    if run % 2:
                        gs.append(time_git(repo, args)[0])
                    f_elapsed, f_lines = time_forge(store, text)
                    fs.append(f_elapsed)
                    if not run % 2:
                        g_elapsed, g_lines = time_git(repo, args)
                        gs.append(g_elapsed)
                if f_lines != g_lines:
                    disagree.append((text, f_lines, g_lines))
                forge_times.append(statistics.median(fs))
                git_times.append(statistics.median(gs))
            f50, g50 = statistics.median(forge_times), statistics.median(git_times)
            ratio = f50 / g50
            counts = "same" if not disagree else f"{len(disagree)} differ"
            print(f"{kind:<11} {f50 * 1000:>12.1f} {g50 * 1000:>11.1f} {ratio:>6.3f}  {counts:<6}  "
                  f"{'ok' if ratio <= TARGET else 'MISS'}", flush=True)
            for text, fl, gl in disagree[:3]:
                print(f"    {text!r}: forge {fl} lines, git {gl}")
            report["kinds"][kind] = {"forge_p50_s": f50, "git_p50_s": g50, "ratio": ratio,
                                     "slowest_forge_s": max(forge_times), "queries": [q for q, _ in queries[kind]],
                                     "count_mismatches": disagree}
    if a.json:
        a.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
