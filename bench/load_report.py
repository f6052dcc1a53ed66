"""The load test's figures: per operation count, errors, throughput and latency percentiles, printed,
written as JSON (every sample included) and as a markdown table."""
import json
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.load_client import MIX, Sample

GROUPS = ("page", "api", "git")


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it (None: no values)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class OpStats:
    op: str
    count: int
    errors: int
    rejections: int  # shared pushes: attempts refused as not fast-forward (then rebased and retried)
    per_second: float
    p50_ms: float | None  # of the successful operations; None when there were none
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def op_stats(op: str, samples: list[Sample], seconds: float) -> OpStats:
    latencies = sorted(s.seconds * 1000 for s in samples if s.ok)
    return OpStats(op, len(samples), sum(not s.ok for s in samples), sum(s.rejections for s in samples),
                   len(samples) / seconds if seconds else 0.0, percentile(latencies, 50), percentile(latencies, 90),
                   percentile(latencies, 99), latencies[-1] if latencies else None)


def summarize(samples: list[Sample], seconds: float) -> list[OpStats]:
    """One row per operation of MIX (in MIX's order), one per group (page, api, git), one for all."""
    rows = [op_stats(op, [s for s in samples if s.op == op], seconds) for op in MIX]
    rows += [op_stats(f"all {group}", [s for s in samples if s.op.startswith(group + ":")], seconds) for group in GROUPS]
    rows.append(op_stats("all", samples, seconds))
    return rows


ACCESS_LINE = re.compile(rb'"(?:GET|POST|PUT|PATCH|DELETE|HEAD) /|"method":\s*"(?:GET|POST|PUT|PATCH|DELETE|HEAD)"')


def server_log_counts(log_path: Path, start: int, end: int) -> dict:
    """HTTP requests (access-log lines) and Python tracebacks in the server log between two offsets:
    best effort, whatever the log format (gunicorn's access log or JSON lines)."""
    with open(log_path, "rb") as f:
        f.seek(start)
        text = f.read(end - start)
    tracebacks = [m.start() for m in re.finditer(rb"Traceback \(most recent call last\)", text)]
    excerpt = text[tracebacks[0]:tracebacks[0] + 3000].decode(errors="replace") if tracebacks else ""
    return {"requests": len(ACCESS_LINE.findall(text)), "tracebacks": len(tracebacks), "first_traceback": excerpt}


def fmt(value: float | None, digits=1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[OpStats]) -> str:
    head = "| operation | count | errors | rejected | ops/s | p50 ms | p90 ms | p99 ms | max ms |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        name = f"**{r.op}**" if r.op.startswith("all") else r.op
        lines.append(f"| {name} | {r.count} | {r.errors} | {r.rejections} | {fmt(r.per_second, 2)} | {fmt(r.p50_ms)} "
                     f"| {fmt(r.p90_ms)} | {fmt(r.p99_ms)} | {fmt(r.max_ms)} |")
    return "\n".join(lines)


def markdown(result: dict, rows: list[OpStats]) -> str:
    m = result["meta"]
    cpu = result["cpu"]
    check = result["push_check"]
    lines = [
        f"# Load test, {m['date']}",
        "",
        f"Forge `{m['forge_commit']}`; {m['cpus']} CPUs; git {m['git_version']}; Python {m['python']}; "
        f"gunicorn as `make run` starts it ({m['server']}).",
        f"`bench/load.py --duration {m['duration']:g} --clients {m['clients']} --seed {m['seed']}`: "
        f"{m['clients']} virtual users, no think time, for {result['load_seconds']:.1f} s on loopback; "
        f"repository `{m['repository']}`.",
        "",
        table(rows),
        "",
        f"Operations: {result['totals']['operations']} ({result['totals']['errors']} errors); "
        f"HTTP requests the server logged during the load: {result['server_log']['requests']} "
        f"({result['server_log']['requests'] / result['load_seconds']:.1f}/s); "
        f"tracebacks in the server log: {result['server_log']['tracebacks']}.",
        f"Pushes: {check['accepted']} accepted, {len(check['lost'])} lost; the final clone "
        f"{'passes' if check['fsck_ok'] else 'FAILS'} `git fsck --strict`; "
        f"{result['totals']['shared_rejections']} pushes to the shared `main` were refused as not fast-forward "
        f"and retried after fetch + rebase (not errors). Issues and comments created through the API: "
        f"{result['write_check']['created']}, {len(result['write_check']['lost'])} missing when read back.",
        f"CPU: load average (1 min) {cpu['loadavg_before'][0]:.2f} before, {cpu['loadavg_after'][0]:.2f} after; "
        f"during the load the gunicorn workers used {cpu['server_cpu_seconds']:.1f} CPU s "
        f"({cpu['server_cores']:.2f} cores), the clients (this script and its git processes) "
        f"{cpu['client_cpu_seconds']:.1f} CPU s ({cpu['client_cores']:.2f} cores); server CPU per operation "
        f"{1000 * cpu['server_cpu_seconds'] / max(1, result['totals']['operations']):.0f} ms, per HTTP request "
        f"{1000 * cpu['server_cpu_seconds'] / max(1, result['server_log']['requests']):.1f} ms; "
        f"{m['note']}",
    ]
    ref = result.get("reference_clones")
    if ref:
        lines += ["", f"Reference, after the load, machine otherwise as above: {ref['runs']} sequential "
                      f"`git clone --bare` of the final repository ({ref['packed_mib']:.1f} MiB packed) from each server: "
                      f"Forge median {ref['forge_median']:.3f} s, git http-backend {ref['git_median']:.3f} s, "
                      f"ratio {ref['ratio']:.2f}×."]
    else:
        lines += ["", "Reference clones against git http-backend: not run (--reference-clones 0)."]
    return "\n".join(lines) + "\n"


def write_outputs(result: dict, rows: list[OpStats], samples: list[Sample], json_path: Path, md_path: Path | None):
    json_path.parent.mkdir(parents=True, exist_ok=True)
    document = dict(result, operations=[asdict(r) for r in rows],
                    samples=[[s.op, round(s.start, 3), round(s.seconds * 1000, 2), s.ok, s.rejections]
                             for s in samples],
                    errors=[asdict(s) for s in samples if not s.ok][:100])
    json_path.write_text(json.dumps(document, indent=1, default=_json_default) + "\n")
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(markdown(result, rows))


def _json_default(value):
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value))


def cpu_seconds_of(pids) -> float:
    """utime + stime of the given processes (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")
