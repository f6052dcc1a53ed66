"""What the benchmarks share: paths, units, logging, the error type, timing and small file helpers."""
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKE_REPO = ROOT.parent / "shared" / "make-test-repo.py"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
MIB = 1024 * 1024


def log(*args):
    # progress goes to stderr so that stdout carries only the report
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def copy_tree(src: Path, dst: Path):
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def timed(fn, runs):
    """The median wall-clock seconds of `runs` calls of fn()."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

