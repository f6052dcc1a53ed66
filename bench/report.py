"""The benchmark's printed report: the table of timings, stored sizes and server memory, then the
circumstances of the run (checkout, load, wall time). Works from the `meta` and `Bench.results()`
dicts, the same ones --json writes, so the table and the JSON cannot disagree."""
from bench.common import MIB


def fmt(value, spec, missing="—"):
    return missing if value is None else format(value, spec)


def print_report(meta, res, forge_name):
    print()
    print(f"Smart-HTTP benchmark, {meta['date']}: {meta['commits']} commits, {meta['objects']} objects, "
          f"{meta['refs']} refs, median of {meta['runs']} run(s)")
    print(f"git side: {meta['git_side']}; {forge_name} side: {meta['forge_side']}")
    print()
    head = f"{'operation':<28} {'git s':>8} {forge_name + ' s':>9} {'ratio':>7} {'target':>7}  result"
    print(head)
    print("-" * len(head))
    for row in res["operations"]:
        verdict = "PASS" if row["pass"] else ("FAILED" if row["forge_s"] is None or row["git_s"] is None else "MISS")
        print(f"{row['label']:<28} {fmt(row['git_s'], '8.3f'):>8} {fmt(row['forge_s'], '9.3f'):>9} "
              f"{fmt(row['ratio'], '6.2f') + '×' if row['ratio'] else '—':>7} {'≤ ' + format(row['target'], '.1f') + '×':>7}  {verdict}")
    s = res["size"]
    mib = lambda v: None if v is None else v / MIB  # noqa: E731
    verdict = "PASS" if s["pass"] else ("FAILED" if s["ratio"] is None else "MISS")
    print(f"{'stored size (MiB)':<28} {fmt(mib(s['git_repacked_bytes']), '8.2f'):>8} {fmt(mib(s['forge_bytes']), '9.2f'):>9} "
          f"{fmt(s['ratio'], '6.2f') + '×' if s['ratio'] else '—':>7} {'≤ ' + format(s['target'], '.1f') + '×':>7}  {verdict}")
    print(f"  (git: objects/pack after `git repack -a -d`; as pushed: {fmt(mib(s['git_as_pushed_bytes']), '.2f')} MiB;"
          f" {forge_name}: the repository's SQLite file, WAL checkpointed)")
    print()
    print("server RSS during the full clone (MiB):")
    for label, r in res["rss"].items():
        what = "gunicorn workers" if label == "forge" and meta["mode"] == "forge" else "http-backend + git children"
        print(f"  {label:<6} {what:<28} at start {fmt(r['at_start_mib'], '6.1f')}   before {fmt(r['before_mib'], '6.1f')}"
              f"   peak {fmt(r['peak_mib'], '6.1f')}"
              f"   (per run: {', '.join(format(p, '.1f') for p in r['peak_mib_runs'])})")
    print()
    if not res["correct"]:
        print("!" * 78)
        print("!!! FAILED: the Forge clone does not hold the same objects as the git clone (or could not be made)")
        print("!" * 78)
    for e in res["errors"]:
        print(f"ERROR: {e.splitlines()[0]}")
    if res["correct"] and not res["errors"]:
        print("correctness: both clones have identical `git rev-list --all --objects` and pass `git fsck --strict`")


def print_context(meta, work, kept: bool):
    """What else affects the figures: the state of the checkout and the load on the machine."""
    c = meta["forge_checkout"]
    print(f"\nForge checkout: commit {c['commit']}, {c['diff']}"
          + (f"; `git status --short`: {', '.join(c['status'])}" if c["status"] else "; clean"))
    if meta["forge_checkout_at_end"] != c:
        print("WARNING: the checkout changed while the benchmark ran (gunicorn may have imported some modules"
              " from the new state); rerun for clean figures")
    print(f"\nload average (1/5/15 min) at start {meta['loadavg_at_start']}, at end {meta['loadavg_at_end']}"
          f" on {meta['cpus']} CPUs: other load on the machine makes both columns slower and noisier")
    print(f"wall time {meta['wall_seconds']:.0f} s; work directory {work}{' (kept)' if kept else ''}")
