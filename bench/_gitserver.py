"""Run `git http-backend` behind the test suite's small CGI server, in a process of its own.

    python bench/_gitserver.py ROOT_DIR

Prints the base URL on one line, then serves until stdin is closed. The benchmark runs it as a
separate process so that the server-side processes (git http-backend, upload-pack, pack-objects,
receive-pack) are exactly this process's descendants, which is how their memory is measured.

The server is `tests/support/githttpd.py` (`start(root_dir, host, port) -> (base_url, stop)`);
`bench/githttpd.py` (same interface) is used only when that file is missing.
"""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = [ROOT / "tests" / "support" / "githttpd.py", ROOT / "bench" / "githttpd.py"]


def load_githttpd():
    for path in CANDIDATES:
        if path.exists():
            spec = importlib.util.spec_from_file_location("githttpd", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["githttpd"] = module
            spec.loader.exec_module(module)
            return module, path
    raise SystemExit("no githttpd.py found (looked for %s)" % ", ".join(map(str, CANDIDATES)))


def main():
    root = sys.argv[1]
    sys.path.insert(0, str(ROOT))
    githttpd, path = load_githttpd()
    base_url, stop = githttpd.start(root, host="127.0.0.1", port=0)
    print(base_url.rstrip("/"), path, flush=True)
    try:
        sys.stdin.read()  # the benchmark closes our stdin to stop us
    finally:
        stop()


if __name__ == "__main__":
    main()
