"""The Forge a load test runs against, and what is in it before the load starts.

A real Forge started as `make run` starts it (bench/sides.py `ForgeSide`: a temporary FORGE_DATA_DIR,
`manage.py migrate`, gunicorn with forge/gunicorn.conf.py and its default sizing), then filled over
its public interfaces only: users and tokens with manage.py, repositories with real `git push` (a
push to a missing repository in the pusher's namespace creates it, public), issues, comments and a
pull request through the REST API. The targets of the page and API reads (a directory, a file, a
commit) are picked from the mid-sized repository, with what a correct answer must contain."""
import os
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.common import BenchError, log
from bench.gitcli import Git
from bench.sides import ForgeSide, free_port

OWNER = ForgeSide.USER  # "bench": owns every repository and pushes
VISITOR = "visitor"  # opens issues, comments and the pull request (not a collaborator)
MID = "mid"  # make-test-repo's repository, the one under load
SMALL = ("small-1", "small-2")
SEED_ISSUES = 5


@dataclass
class Targets:
    """What the virtual users read, picked once from the seeded repository."""
    directory: str  # a directory at main with several files
    directory_entry: str  # a name the tree page must list
    file: str  # a file at main the load never changes
    file_sha: str  # its blob id (the contents API must answer it)
    commit: str  # an older commit of main
    search_word: str
    issue_numbers: list[int] = field(default_factory=list)
    pull_number: int = 0


@dataclass
class SeededForge:
    side: ForgeSide
    git: Git
    base_url: str  # http://127.0.0.1:PORT
    owner_token: str
    visitor_token: str
    targets: Targets
    main_at_start: str

    def git_url(self, name: str) -> str:
        return self.side.url(name)  # http://x:TOKEN@127.0.0.1:PORT/bench/NAME.git

    def stop(self):
        self.side.stop()


SEED_SCRIPT = """
from io import StringIO
from django.core.management import call_command
call_command("migrate", "--noinput", verbosity=0)
for name, scopes in (("%(owner)s", "repo:read,repo:write"), ("%(visitor)s", "repo:read,issues:write")):
    call_command("adduser", name)
    out = StringIO()
    call_command("addtoken", name, "--label", "load", "--scopes", scopes, stdout=out)
    print("TOKEN", name, out.getvalue().split()[-1])
""" % {"owner": OWNER, "visitor": VISITOR}


class LoadForgeSide(ForgeSide):
    """bench/sides.py's ForgeSide, set up in ONE manage.py process (`shell -c` calling migrate, adduser
    and addtoken, the same commands): each Django start costs a second or more on a busy machine."""

    def __init__(self, work: Path, git: Git):
        self.git = git
        self.data = work / "forge-data"
        self.data.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
        self.port = free_port()
        self.env.update(FORGE_DATA_DIR=str(self.data), FORGE_HOST="127.0.0.1", FORGE_PORT=str(self.port),
                        PYTHONUNBUFFERED="1")
        self.proc = None
        log(f"forge: data in {self.data}; migrate, users and tokens")
        tokens = {}
        for line in self.manage("shell", "-c", SEED_SCRIPT).splitlines():
            if line.startswith("TOKEN "):
                _, name, token = line.split()
                tokens[name] = token
        self.token, self.visitor_token = tokens[OWNER], tokens[VISITOR]


def seed_forge(work: Path, git: Git, source: Path) -> SeededForge:
    """A started Forge holding OWNER/MID (a mirror of the bare repository `source`), the small
    repositories, issues with comments and a pull request."""
    side = LoadForgeSide(work, git)
    try:
        side.start()
        base_url = f"http://127.0.0.1:{side.port}"
        log(f"seed: push {source} to {OWNER}/{MID}, and the small ones")
        git.run("--git-dir", source, "push", "-q", "--mirror", side.url(MID))
        for name in SMALL:
            _push_small_repository(git, work / f"seed-{name}", side.url(name))
        targets = _pick_targets(git, source)
        log("seed: pull request branch, issues, comments, pull request")
        _seed_pull_branch(git, work / "seed-pr", side.url(MID))
        _seed_issues(base_url, side.visitor_token, targets)
        main = git.out("--git-dir", source, "rev-parse", "refs/heads/main")
        return SeededForge(side, git, base_url, side.token, side.visitor_token, targets, main)
    except BaseException:
        side.stop()
        raise


def _push_small_repository(git: Git, path: Path, url: str):
    git.run("init", "-q", path)
    for n in range(3):
        (path / "README.md").write_text(f"# {path.name}\n\nA small repository, version {n}.\n")
        (path / f"notes-{n}.txt").write_text(f"note {n}\n" * (n + 1))
        git.run("add", "-A", cwd=path)
        git.run("commit", "-q", "-m", f"small commit {n}", cwd=path)
    git.run("push", "-q", url, "HEAD:refs/heads/main", cwd=path)


def _pick_targets(git: Git, full: Path) -> Targets:
    """A directory with the most files directly in it, its largest .py file under 64 KiB, main~10."""
    listing = git.out("--git-dir", full, "ls-tree", "-r", "-l", "main").splitlines()
    files = []  # (directory, name, size, blob id)
    for line in listing:
        meta, path = line.split("\t", 1)
        _mode, kind, oid, size = meta.split()
        if kind == "blob" and "/" in path:
            directory, name = path.rsplit("/", 1)
            files.append((directory, name, int(size), oid))
    by_dir: dict[str, list] = {}
    for entry in files:
        by_dir.setdefault(entry[0], []).append(entry)
    directory = max(by_dir, key=lambda d: (len(by_dir[d]), d))
    candidates = [f for f in files if f[1].endswith(".py") and 2000 < f[2] < 64 * 1024] or files
    chosen = max(candidates, key=lambda f: (f[2], f[0], f[1]))
    commit = git.out("--git-dir", full, "rev-parse", "main~10")
    return Targets(directory=directory, directory_entry=sorted(e[1] for e in by_dir[directory])[0],
                   file=f"{chosen[0]}/{chosen[1]}", file_sha=chosen[3], commit=commit, search_word="import")


def _seed_pull_branch(git: Git, path: Path, url: str):
    """A branch `pr/load` one commit ahead of main, for the pull request (sparse: no full checkout)."""
    git.run("clone", "-q", "--no-checkout", url, path)
    git.run("sparse-checkout", "set", "load", cwd=path)
    git.run("checkout", "-q", "-b", "pr-load", "origin/main", cwd=path)
    (path / "load").mkdir(exist_ok=True)
    (path / "load" / "pull-request.txt").write_text("A change proposed while the load runs.\n")
    git.run("add", "load/pull-request.txt", cwd=path)
    git.run("commit", "-q", "-m", "A pull request for the load test", cwd=path)
    git.run("push", "-q", "origin", "HEAD:refs/heads/pr/load", cwd=path)


def _seed_issues(base_url: str, token: str, targets: Targets):
    session = requests.Session()
    session.headers.update(Authorization=f"token {token}", Accept="application/vnd.github+json")
    api = f"{base_url}/api/v3/repos/{OWNER}/{MID}"
    for n in range(SEED_ISSUES):
        response = session.post(f"{api}/issues", json={"title": f"Seeded issue {n}", "body": f"Body of issue {n}."},
                                timeout=60)
        _expect(response, 201, "create a seed issue")
        targets.issue_numbers.append(response.json()["number"])
        _expect(session.post(f"{api}/issues/{targets.issue_numbers[-1]}/comments", json={"body": "A first comment."},
                             timeout=60), 201, "comment on a seed issue")
    response = session.post(f"{api}/pulls", json={"title": "Load test pull request", "head": "pr/load", "base": "main",
                                                  "body": "Opened by the load test's seed."}, timeout=60)
    _expect(response, 201, "open the seed pull request")
    targets.pull_number = response.json()["number"]


def _expect(response: requests.Response, status: int, what: str):
    if response.status_code != status:
        raise BenchError(f"seed: {what}: {response.status_code} {response.text[:500]}")
