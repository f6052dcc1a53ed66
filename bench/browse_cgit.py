"""The cgit side of the browsing benchmark: Debian's cgit as CGI behind the test suite's threaded
loopback HTTP server (tests/support/githttpd.py, told to run cgit instead of git http-backend), in
a process of its own, with a cgitrc written into the work directory.

    python bench/browse_cgit.py CGITRC     # prints the base URL, serves until stdin is closed

cgit's page cache is off (cache-size=0), so every request renders; there is no source-filter, so
cgit shows blobs and blame without syntax highlighting.
"""
import os
import subprocess
import sys
import threading
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, ROOT, BenchError, log  # noqa: E402
from bench.procs import descendants, stop_server_process  # noqa: E402
from tests.support import githttpd  # noqa: E402

CGIT = Path(os.environ.get("FORGE_BENCH_CGIT", "/usr/lib/cgit/cgit.cgi"))
LOG_PAGE = 30  # commits per log page, as Forge's


def write_cgitrc(path: Path, name: str, repo: Path, default_branch="main") -> Path:
    """One repository at URL /NAME/, blame on, no cache, 30 commits per log page."""
    path.write_text(
        "# written by bench/browse_cgit.py\n"
        "cache-size=0\n"
        "enable-blame=1\n"
        f"max-commit-count={LOG_PAGE}\n"
        "virtual-root=/\n"
        "enable-http-clone=0\n"
        "enable-index-links=0\n"
        "snapshots=\n"
        "css=/cgit.css\n"
        "logo=\n"
        f"repo.url={name}\n"
        f"repo.path={repo}\n"
        f"repo.defbranch={default_branch}\n"
    )
    return path


class CgitServer(githttpd.GitHTTPServer):
    """githttpd's CGI runner with cgit as the CGI and cgit's own environment."""

    cgi_command = (str(CGIT),)

    def __init__(self, cgitrc, address):
        self.cgitrc = str(cgitrc)
        super().__init__(os.path.dirname(self.cgitrc), address)

    def cgi_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HTTP_", "CGIT_"))}
        env.update(CGIT_CONFIG=self.cgitrc, GATEWAY_INTERFACE="CGI/1.1", SERVER_SOFTWARE="githttpd",
                   HTTP_HOST="%s:%s" % self.server_address[:2], SCRIPT_NAME="")
        return env


def cgit_version() -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "cgit"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except OSError:
        pass
    return "?"


class CgitSide:
    """cgit serving one repository; pages are addressed with cgit's URLs (see browse_pages)."""

    label = "cgit"

    def __init__(self, work: Path, name: str, repo: Path):
        if not CGIT.exists():
            raise BenchError(f"{CGIT} not found: apt-get install -y cgit (or set FORGE_BENCH_CGIT)")
        self.name = name
        directory = work / "cgit"
        directory.mkdir()
        self.cgitrc = write_cgitrc(directory / "cgitrc", name, repo)
        self.proc = subprocess.Popen([str(PYTHON), str(Path(__file__).resolve()), str(self.cgitrc)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(ROOT))
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            raise BenchError("the cgit server did not start")
        self.base_url = line
        log(f"cgit: {CGIT} ({cgit_version()}) as CGI at {self.base_url}, config {self.cgitrc}")

    def describe(self) -> str:
        return f"cgit {cgit_version()} (CGI behind tests/support/githttpd.py, cache-size=0, no source-filter)"

    def server_pids(self):
        return descendants(self.proc.pid)

    def stop(self):
        stop_server_process(self.proc)


def main():
    server = CgitServer(sys.argv[1], ("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(server.base_url, flush=True)
    try:
        sys.stdin.read()  # the benchmark closes our stdin to stop us
    finally:
        server.shutdown()
        server.server_close()
        server.kill_active()


if __name__ == "__main__":
    main()
