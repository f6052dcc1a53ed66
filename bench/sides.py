"""The two servers the benchmark compares: git's own `git http-backend` (GitSide) and a real
Forge under gunicorn (ForgeSide). Both offer the same interface: create_repo, url, server_pids,
stored_size, describe, stop."""
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

from bench.common import GUNICORN, PYTHON, ROOT, BenchError, dir_size, log
from bench.gitcli import Git
from bench.procs import children, descendants, stop_server_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GitSide:
    """git http-backend as CGI behind the test suite's threaded HTTP server, in its own process."""

    label = "git"

    def __init__(self, work: Path, git: Git, name="git"):
        self.git = git
        self.root = work / f"{name}-repos"
        self.root.mkdir()
        self.proc = subprocess.Popen([str(PYTHON), str(ROOT / "bench" / "_gitserver.py"), str(self.root)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=git.env, cwd=str(ROOT))
        line = self.proc.stdout.readline().decode().split()
        if not line:
            raise BenchError("the git http-backend server did not start")
        self.base_url, self.server_impl = line[0], line[1] if len(line) > 1 else "?"
        log(f"{name}: git http-backend at {self.base_url} ({Path(self.server_impl).relative_to(ROOT)})")

    OWNER = "bench"  # repositories live at ROOT/bench/NAME.git, served at /bench/NAME.git like Forge's

    def repo_path(self, name: str) -> Path:
        return self.root / self.OWNER / f"{name}.git"

    def create_repo(self, name: str) -> str:
        path = self.repo_path(name)
        self.git.run("init", "-q", "--bare", path)
        self.git.run("--git-dir", path, "config", "http.receivepack", "true")
        return self.url(name)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{self.OWNER}/{name}.git"

    def server_pids(self):
        """git http-backend and its upload-pack/pack-objects/receive-pack children."""
        return descendants(self.proc.pid)

    def stored_size(self, name: str) -> int:
        return dir_size(self.repo_path(name) / "objects")

    def describe(self) -> str:
        return f"git http-backend ({self.git.out('--version')})"

    def stop(self):
        stop_server_process(self.proc)


class ForgeSide:
    """A real Forge: temporary FORGE_DATA_DIR, migrate, a user and a token, gunicorn."""

    label = "forge"
    USER = "bench"

    def __init__(self, work: Path, git: Git, start_server=True):
        self.git = git
        self.data = work / "forge-data"
        self.data.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
        self.port = free_port()
        self.env.update(FORGE_DATA_DIR=str(self.data), FORGE_HOST="127.0.0.1", FORGE_PORT=str(self.port),
                        PYTHONUNBUFFERED="1")
        self.proc = None
        log(f"forge: data in {self.data}; migrate, adduser, addtoken")
        self.manage("migrate", "--noinput")
        self.manage("adduser", self.USER)
        self.token = self.manage("addtoken", self.USER, "--label", "bench").strip().splitlines()[-1].strip()
        if start_server:
            self.start()

    def manage(self, *args) -> str:
        proc = subprocess.run([str(PYTHON), "manage.py", *args], cwd=str(ROOT), env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise BenchError(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n"
                             + (proc.stdout + proc.stderr).decode(errors="replace")[-3000:])
        return proc.stdout.decode()

    def start(self):
        self.log_path = self.data.parent / "gunicorn.log"
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(GUNICORN), "-c", "forge/gunicorn.conf.py", "forge.wsgi"], cwd=str(ROOT),
                                     env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                    pass
                break
            except urllib.error.HTTPError:
                break  # it answers; the status does not matter here
            except OSError:
                time.sleep(0.2)
        else:
            raise BenchError(f"gunicorn did not answer within 60 s:\n{self.log_path.read_text()[-3000:]}")
        # wait for every worker to be up, so that "RSS before" is a settled figure
        for _ in range(50):
            if len(children(self.proc.pid)) >= 1:
                break
            time.sleep(0.1)
        log(f"forge: gunicorn at http://127.0.0.1:{self.port} (master pid {self.proc.pid})")

    def create_repo(self, name: str) -> str:
        self.manage("createrepo", f"{self.USER}/{name}")
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://x:{self.token}@127.0.0.1:{self.port}/{self.USER}/{name}.git"

    def info_refs_status(self, name: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{self.USER}/{name}.git/info/refs?service=git-upload-pack",
            headers={"Authorization": "Basic " + b64encode(f"x:{self.token}".encode()).decode()})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as e:
            return e.code

    def server_pids(self):
        """The gunicorn workers (children of the master) and anything they may start."""
        return descendants(self.proc.pid)

    def store_path(self, name: str) -> Path:
        with sqlite3.connect(self.data / "forge.sqlite3", timeout=30) as db:
            row = db.execute("SELECT r.store_id FROM repos_repository r JOIN auth_user u ON r.owner_id=u.id "
                             "WHERE u.username=? AND r.name=?", (self.USER, name)).fetchone()
        if not row:
            raise BenchError(f"no repository {self.USER}/{name} in forge.sqlite3")
        store_id = str(row[0])
        return self.data / "repos" / store_id[:2] / f"{store_id}.sqlite3"

    def stored_size(self, name: str) -> int:
        path = self.store_path(name)
        try:
            db = sqlite3.connect(path, timeout=30)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
        except sqlite3.Error as e:
            log(f"forge: could not checkpoint {path}: {e}")
        return sum(p.stat().st_size for p in [path, Path(f"{path}-wal")] if p.exists())

    def describe(self) -> str:
        return f"Forge (gunicorn, {len(children(self.proc.pid))} workers)"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log_file.close()
