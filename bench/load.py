"""A bounded load test of a real Forge on loopback: virtual users mixing page reads, API calls,
clones, fetches and pushes for a fixed time; then no lost push, and a reference against git's own
`git http-backend`. See bench/README.md ("load.py").

    .venv/bin/python bench/load.py                                  # 60 s, 8 virtual users
    .venv/bin/python bench/load.py --duration 5 --clients 3 --json /tmp/x.json --markdown /tmp/x.md

Exit status: 0 every operation succeeded, no accepted push was lost, the final clone passes
`git fsck --strict` and every issue and comment created reads back; 1 something failed (an error, a lost
push or write, a traceback in the server log);
2 the set-up failed."""
import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, BenchError, log  # noqa: E402
from bench.fixtures import Fixtures  # noqa: E402
from bench.gitcli import Git  # noqa: E402
from bench.load_client import VirtualUser, run_clients  # noqa: E402
from bench.load_report import cpu_seconds_of, server_log_counts, summarize, table, write_outputs  # noqa: E402
from bench.load_seed import MID, OWNER, seed_forge  # noqa: E402
from bench.load_verify import check_pushes, check_writes, reference_clones  # noqa: E402
from bench.procs import children, descendants  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    p.add_argument("--clients", type=int, default=8, help="virtual users at once (default 8)")
    p.add_argument("--commits", type=int, default=300, help="size of the mid repository (make-test-repo commits)")
    p.add_argument("--source", type=Path, help="a bare repository to load instead of make-test-repo's --commits N")
    p.add_argument("--seed", type=int, default=1, help="seed of the virtual users' choices")
    p.add_argument("--reference-clones", type=int, default=5,
                   help="sequential clones from each of Forge and git http-backend after the load (0: skip)")
    p.add_argument("--json", type=Path, help="where to write the JSON (default bench/results/load-DATE.json)")
    p.add_argument("--markdown", type=Path,
                   help="where to write the markdown table (default bench/results/LOAD.md when --json is not given)")
    p.add_argument("--note", default="", help="a note on the machine's state, kept in the results")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("FORGE_BENCH_CACHE")
                                                      or Path(tempfile.gettempdir()) / "forge-bench-cache"))
    p.add_argument("--keep", action="store_true", help="keep the work directory (Forge's data, gunicorn.log)")
    return p.parse_args(argv)


def prepare_clients(clients: list[VirtualUser]):
    errors = []

    def prepare(client):
        try:
            client.prepare()
        except Exception as e:  # reported after every thread ended
            errors.append(e)

    threads = [threading.Thread(target=prepare, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError(f"a client's working clone failed: {errors[0]}")


def source_repository(args, git: Git) -> tuple[Path, str]:
    """The bare repository to seed as OWNER/MID: --source, or make-test-repo's (cached) --commits N."""
    if args.source:
        path = args.source
    else:
        path = Fixtures(git, args.commits, args.cache).full
    counts = dict(line.split(": ") for line in git.out("--git-dir", path, "count-objects", "-v").splitlines())
    commits = git.out("--git-dir", path, "rev-list", "--count", "--all")
    what = path.name if args.source else f"make-test-repo --commits {args.commits}"
    return path, f"{what}, {commits} commits, {int(counts['count']) + int(counts['in-pack'])} objects"


def client_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(args) -> int:
    loadavg_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="forge-load-"))
    git = Git(work / "home")
    forge = None
    try:
        source, source_note = source_repository(args, git)
        forge = seed_forge(work, git, source)
        clients = [VirtualUser(i, forge, work / f"client-{i}", args.seed) for i in range(args.clients)]
        log(f"clients: {args.clients} sparse working clones")
        prepare_clients(clients)
        master = forge.side.proc.pid
        workers = len(children(master))

        log(f"load: {args.clients} virtual users for {args.duration:g} s")
        log_start = forge.side.log_path.stat().st_size
        server_cpu_0 = cpu_seconds_of([master, *descendants(master)])
        client_cpu_0 = client_cpu_seconds()
        began, ended = run_clients(clients, args.duration)
        load_seconds = ended - began
        server_cpu = cpu_seconds_of([master, *descendants(master)]) - server_cpu_0
        client_cpu = client_cpu_seconds() - client_cpu_0
        loadavg_after = os.getloadavg()
        time.sleep(0.5)  # let the access log of the last requests reach the file
        server_log = server_log_counts(forge.side.log_path, log_start, forge.side.log_path.stat().st_size)

        samples = sorted((s for c in clients for s in c.samples), key=lambda s: s.start)
        pushes = [p for c in clients for p in c.pushes]
        log(f"load: {len(samples)} operations in {load_seconds:.1f} s; checking {len(pushes)} accepted pushes")
        check = check_pushes(forge, work, pushes)
        created = [item for c in clients for item in c.created]
        lost_writes = check_writes(forge, created)
        reference = None
        if args.reference_clones > 0:
            log(f"reference: {args.reference_clones} clones from each of Forge and git http-backend")
            reference = reference_clones(forge, git, work, check.final_clone, args.reference_clones)

        rows = summarize(samples, load_seconds)
        errors = sum(not s.ok for s in samples)
        date = time.gmtime()
        result = {
            "meta": {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", date),
                "forge_commit": git.out("-C", ROOT, "rev-parse", "--short", "HEAD"),
                "cpus": os.cpu_count(), "git_version": git.out("--version").split()[-1],
                "python": platform.python_version(),
                "server": f"gunicorn -c forge/gunicorn.conf.py, {workers} worker processes",
                "duration": args.duration, "clients": args.clients, "seed": args.seed,
                "repository": f"{OWNER}/{MID}: {source_note}",
                "note": args.note or "other work on the machine is not controlled (see the load averages).",
            },
            "load_seconds": load_seconds,
            "totals": {"operations": len(samples), "errors": errors,
                       "shared_rejections": sum(s.rejections for s in samples)},
            "cpu": {"loadavg_before": loadavg_before, "loadavg_after": loadavg_after,
                    "server_cpu_seconds": server_cpu, "server_cores": server_cpu / load_seconds,
                    "client_cpu_seconds": client_cpu, "client_cores": client_cpu / load_seconds},
            "server_log": server_log,
            "push_check": {"accepted": check.accepted, "lost": check.lost, "refs_checked": check.refs_checked,
                           "fsck_ok": check.fsck_ok, "fsck_output": check.fsck_output,
                           "final_main": check.final_main},
            "write_check": {"created": len(created), "lost": lost_writes},
            "reference_clones": None if reference is None else {
                "runs": reference.runs, "forge_seconds": reference.forge_seconds,
                "git_seconds": reference.git_seconds, "forge_median": reference.forge_median,
                "git_median": reference.git_median, "ratio": reference.ratio, "packed_mib": reference.packed_mib},
        }
        stamp = time.strftime("%Y%m%d-%H%M%S", date)
        json_path = args.json or RESULTS / f"load-{stamp}.json"
        md_path = args.markdown or (RESULTS / "LOAD.md" if args.json is None else None)
        write_outputs(result, rows, samples, json_path, md_path)

        print(table(rows))
        print(f"\nload {load_seconds:.1f} s; {len(samples)} operations, {errors} errors; "
              f"{server_log['requests']} HTTP requests logged, {server_log['tracebacks']} tracebacks; "
              f"pushes {check.accepted} accepted, {len(check.lost)} lost; "
              f"fsck --strict {'ok' if check.fsck_ok else 'FAILED'}; "
              f"issues and comments {len(created)} created, {len(lost_writes)} lost; "
              f"load average {loadavg_before[0]:.2f} -> {loadavg_after[0]:.2f}")
        if reference:
            print(f"reference clones ({reference.runs} each): forge {reference.forge_median:.3f} s, "
                  f"git http-backend {reference.git_median:.3f} s, ratio {reference.ratio:.2f}x")
        print(f"written: {json_path}" + (f", {md_path}" if md_path else ""))
        failed = errors or not check.ok or lost_writes or server_log["tracebacks"]
        for s in [s for s in samples if not s.ok][:10]:
            print(f"ERROR {s.op} at {s.start:.1f} s: {s.detail[:500]}")
        for lost in check.lost[:10] + lost_writes[:10]:
            print(f"LOST {lost}")
        if not check.fsck_ok:
            print(f"FSCK FAILED:\n{check.fsck_output}")
        if server_log["tracebacks"]:
            print(f"SERVER TRACEBACK:\n{server_log['first_traceback']}")
        return 1 if failed else 0
    finally:
        if forge is not None:
            forge.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"SET-UP FAILED: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
