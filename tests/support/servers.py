"""Live servers for the git tests: Forge under gunicorn, and git's own http-backend as the reference.

Both offer the same interface, so a test runs unchanged against either:

    url                         base URL, http://127.0.0.1:PORT
    adduser(name)               a local account (idempotent)
    token(name, scopes, expires_days) -> str
    createrepo("owner/name", private=False, default_branch=None)
    repo_url(owner, name, token=None, suffix=".git")
    store_counts(owner, name)   row counts of the repository's store, or the reference's object counts
    kill_workers()              SIGKILL whatever is serving requests now (Forge: all gunicorn workers)
    wait_ready()
    stop()

ForgeServer also has data_dir, master_pid, worker_pids(), manage(*args) and store_db(owner, name).
"""
import atexit
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import githttpd, pg
from .gitcli import git

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url, timeout=2.0):
    try:
        urllib.request.urlopen(url, timeout=timeout).close()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except (OSError, ValueError):
        return False


class ForgeServer:
    is_reference = False

    def __init__(self, data_dir, extra_env=None, root=ROOT):
        self.root = Path(root)
        self.data_dir = str(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(os.path.dirname(self.data_dir.rstrip("/")),
                                     os.path.basename(self.data_dir.rstrip("/")) + "-server.log")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("FORGE_") and k not in ("DJANGO_SETTINGS_MODULE",)}
        env.update(FORGE_DATA_DIR=self.data_dir, FORGE_HOST="127.0.0.1", FORGE_PORT=str(self.port),
                   PYTHONUNBUFFERED="1")
        env.update(extra_env or {})
        self.env = env
        self.python = str(self.root / ".venv" / "bin" / "python")
        self.gunicorn = str(self.root / ".venv" / "bin" / "gunicorn")
        self.proc = None
        self._users = set()
        self._labels = 0

    # --- process ---------------------------------------------------------------------------------------------
    def start(self, timeout=30):
        os.makedirs(self.data_dir, exist_ok=True)
        if not self._new_main_database_from_template():
            self.manage("migrate", "--noinput")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.gunicorn, "-c", "forge/gunicorn.conf.py", "forge.wsgi"],
                                     cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        atexit.register(self.stop)  # in case the test session dies without its teardown
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def master_pid(self):
        return self.proc.pid

    def log_tail(self, limit=8000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.worker_pids() and _answers(self.url + "/"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"Forge did not answer on {self.url} within {timeout}s:\n{self.log_tail()}")

    def worker_pids(self):
        """Children of the gunicorn master, from /proc."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                pids.append(int(entry))
        return pids

    def kill_workers(self):
        """SIGKILLs every gunicorn worker (the master respawns them); returns the pids killed."""
        return self.signal_workers(signal.SIGKILL)

    def signal_workers(self, signum):
        """Sends `signum` to every gunicorn worker alive now; returns their pids."""
        pids = self.worker_pids()
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        return pids

    def wait_respawned(self, old_pids, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.worker_pids()
            if now and not set(now) & set(old_pids):
                break
            time.sleep(0.1)
        self.wait_ready(max(1, deadline - time.monotonic()))

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        atexit.unregister(self.stop)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        except ProcessLookupError:
            pass
        finally:
            self._log.close()

    def _new_main_database_from_template(self):
        """A new server's main database is a copy of one migrated once per test process: a `migrate`
        that finds nothing to do still costs a Python start-up and seconds of CPU, for each of the
        suite's many servers. False when the main database already existed (a restart) or was given."""
        if pg.enabled() or "FORGE_DATABASE_URL" in self.env:
            return self._ensure_database()
        main = os.path.join(self.data_dir, "forge.sqlite3")
        if os.path.exists(main):
            return False
        _copy_sqlite(_migrated_sqlite_template(self.env), main)
        return True

    # --- management commands ---------------------------------------------------------------------------------
    def _ensure_database(self):
        """True when it made the server's (PostgreSQL) database just now, from the migrated template."""
        if pg.enabled() and "FORGE_DATABASE_URL" not in self.env:
            # Its own database, kept until the test session ends (a stopped server may start again).
            self.env["FORGE_DATABASE_URL"] = pg.new_server_database(self.env)
            return True
        return False

    def manage(self, *args, check=True):
        self._ensure_database()
        proc = subprocess.run([self.python, "manage.py", *map(str, args)], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                               f"{proc.stdout}\n{proc.stderr}")
        return proc.stdout if check else proc

    def adduser(self, name):
        if name not in self._users:
            self.manage("adduser", name, "--password", f"pw-{name}-secret")
            self._users.add(name)

    def token(self, name, scopes="repo:read,repo:write", expires_days=None):
        self.adduser(name)
        self._labels += 1
        args = ["addtoken", name, "--label", f"test-{self._labels}", "--scopes", scopes]
        if expires_days is not None:
            args += ["--expires-days", str(expires_days)]
        token = self.manage(*args).strip()
        assert token and "\n" not in token, f"addtoken printed {token!r}"
        return token

    def createrepo(self, full_name, private=False, default_branch=None):
        self.adduser(full_name.split("/", 1)[0])
        args = ["createrepo", full_name] + (["--private"] if private else [])
        if default_branch:
            args += ["--default-branch", default_branch]
        self.manage(*args)

    def repo_url(self, owner, name, token=None, suffix=".git", user="x"):
        auth = f"{user}:{token}@" if token else ""
        return f"http://{auth}127.0.0.1:{self.port}/{owner}/{name}{suffix}"

    # --- the repository's store ------------------------------------------------------------------------------
    def query_main_db(self, sql, params=()):
        """Rows from the main database, SQLite or PostgreSQL, read-only; `sql` uses %s placeholders."""
        database_url = self.env.get("FORGE_DATABASE_URL", "")
        if database_url.startswith(("postgres", "pgsql")):
            return pg.query(database_url, sql, params)
        main = os.path.join(self.data_dir, "forge.sqlite3")
        con = sqlite3.connect(f"file:{main}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            con.close()

    def store_db(self, owner, name):
        rows = self.query_main_db(
            "SELECT r.store_id FROM repos_repository r JOIN auth_user u ON r.owner_id=u.id "
            "WHERE lower(u.username)=lower(%s) AND lower(r.name)=lower(%s)", (owner, name))
        if not rows:
            return None
        store_id = str(rows[0][0])
        return os.path.join(self.data_dir, "repos", store_id[:2], store_id + ".sqlite3")

    def store_counts(self, owner, name):
        path = self.store_db(owner, name)
        assert path and os.path.exists(path), f"no store file for {owner}/{name}: {path}"
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("refs", "packs", "objects")}
        finally:
            con.close()


_sqlite_template = None


def _migrated_sqlite_template(env):
    global _sqlite_template
    if _sqlite_template is None:
        directory = tempfile.mkdtemp(prefix="forge-main-db-template-")
        atexit.register(shutil.rmtree, directory, True)
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--noinput"],
                              cwd=ROOT, env=dict(env, FORGE_DATA_DIR=directory), capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"migrating the template main database failed:\n{done.stdout}\n{done.stderr}")
        _sqlite_template = os.path.join(directory, "forge.sqlite3")
    return _sqlite_template


def _copy_sqlite(source, destination):
    with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
        src.backup(dst)
    src.close()
    dst.close()


class GitReferenceServer:
    """git http-backend behind tests/support/githttpd.py, with the Forge-like helpers as plain directories.

    No accounts and no access control: tokens are dummies, private repositories are not private. Tests
    that depend on Forge's own rules are skipped against it (marker forge_only).
    """
    is_reference = True

    def __init__(self, data_dir, extra_env=None):
        self.data_dir = str(data_dir)
        self.repos_root = os.path.join(self.data_dir, "git")
        os.makedirs(self.repos_root, exist_ok=True)
        config = {}
        limit = (extra_env or {}).get("FORGE_MAX_PUSH_BYTES")
        if limit:
            config["receive.maxInputSize"] = str(limit)
        self.httpd = githttpd.serve(self.repos_root, config=config)
        self.port = self.httpd.server_address[1]
        self.url = self.httpd.base_url
        self._tokens = 0

    def start(self, timeout=30):
        return self

    def wait_ready(self, timeout=30):
        pass

    def stop(self):
        self.httpd.stop()

    def adduser(self, name):
        os.makedirs(os.path.join(self.repos_root, name), exist_ok=True)

    def token(self, name, scopes="repo:read,repo:write", expires_days=None):
        self._tokens += 1
        return f"reference-token-{name}-{self._tokens}"

    def createrepo(self, full_name, private=False, default_branch=None):
        git("init", "-q", "--bare", "-b", default_branch or "main", self.repo_dir(*full_name.split("/", 1)))

    def repo_dir(self, owner, name):
        return os.path.join(self.repos_root, owner, name + ".git")

    def repo_url(self, owner, name, token=None, suffix=".git", user="x"):
        auth = f"{user}:{token}@" if token else ""
        return f"http://{auth}127.0.0.1:{self.port}/{owner}/{name}{suffix}"

    def store_counts(self, owner, name):
        """The nearest thing to the store's tables: loose and packed object counts, pack files, refs."""
        d = self.repo_dir(owner, name)
        counts = dict(line.split(": ", 1) for line in git("-C", d, "count-objects", "-v").stdout.splitlines())
        nrefs = len(git("-C", d, "for-each-ref").stdout.splitlines())
        return {"refs": nrefs, "packs": int(counts["packs"]),
                "objects": int(counts["count"]) + int(counts["in-pack"])}

    def kill_workers(self):
        pids = self.httpd.active_cgi_pids()
        self.httpd.kill_active()
        return pids

    def wait_respawned(self, old_pids, timeout=30):
        pass


def start_server(data_dir=None, extra_env=None, reference=False):
    data_dir = data_dir or tempfile.mkdtemp(prefix="forge-test-data-")
    if reference:
        return GitReferenceServer(data_dir, extra_env).start()
    return ForgeServer(data_dir, extra_env).start()
