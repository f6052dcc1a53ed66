"""One virtual user of the load test: a thread that loops over a weighted mix of page reads, API
calls, clones, fetches and pushes until the deadline, recording every operation's latency and
outcome. Pages and API calls go through a keep-alive `requests` session; git operations are real
`git` subprocesses (the bench's isolated client, bench/gitcli.py) on a sparse working clone of its own.

Pushes never conflict on the client's own branch `load/cN` (each push one new commit). Pushes to the
shared branch `main` race with the other users: a push refused as not fast-forward (git's
"fetch first" / "non-fast-forward", or Forge's "it moved since you fetched") is counted as a
rejection, not an error, and retried after `git fetch` + `git rebase origin/main`. Every push the
client saw accepted is recorded, for the no-lost-push check afterwards."""
import random
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.gitcli import redact
from bench.load_seed import MID, OWNER, SMALL, SeededForge

GIT_TIMEOUT = 600  # seconds; a git command that hangs this long is an error, not a stuck test
HTTP_TIMEOUT = 120
SHARED_PUSH_ATTEMPTS = 20
REJECTION_MARKERS = ("fetch first", "non-fast-forward", "moved since you fetched", "stale info")

# operation -> weight (percent of the operations a virtual user starts)
MIX = {
    "page:home": 5, "page:tree": 5, "page:blob": 5, "page:commits": 5, "page:commit": 5,
    "page:issues": 4, "page:pull": 4, "page:search": 4, "page:small-repo": 3,
    "api:repo": 5, "api:commits": 5, "api:contents": 5, "api:issues": 5,
    "api:create-issue": 3, "api:create-comment": 3,
    "git:clone": 5, "git:clone-small": 3, "git:fetch": 10,
    "git:push-branch": 10, "git:push-shared": 6,
}

# Every user starts with these, so that even a run of a few seconds pushes, and races on main
OPENING = ("git:push-branch", "git:push-shared")


@dataclass
class Sample:
    op: str
    start: float  # seconds since the load phase began
    seconds: float
    ok: bool
    detail: str = ""  # what went wrong, for an error
    rejections: int = 0  # shared pushes: attempts refused as not fast-forward before this one landed


@dataclass
class AcceptedPush:
    ref: str
    oid: str
    client: int


class OpError(Exception):
    pass


@dataclass
class Created:
    """An issue or comment the API answered 201 for: its API path under the repository, and a field
    it must still hold when read back after the load."""
    path: str
    field: str
    value: str


@dataclass
class VirtualUser:
    index: int
    forge: SeededForge
    scratch: Path
    seed: int
    samples: list[Sample] = field(default_factory=list)
    pushes: list[AcceptedPush] = field(default_factory=list)
    created: list[Created] = field(default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.seed * 1000 + self.index)
        self.work = self.scratch / "work"
        self.branch = f"load/c{self.index}"
        self.web = requests.Session()
        self.api = requests.Session()
        self.api.headers.update(Authorization=f"token {self.forge.visitor_token}",
                                Accept="application/vnd.github+json")
        self.pushes_made = 0
        self.clones_made = 0

    # --- set-up (not timed) -------------------------------------------------------------------
    def prepare(self):
        """A sparse working clone of the mid repository (only load/ and the top-level files are
        checked out), on the client's own branch."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._git("clone", "-q", "--no-checkout", self.forge.git_url(MID), self.work)
        self._git("sparse-checkout", "set", "load", cwd=self.work)
        self._git("checkout", "-q", "-b", f"load-c{self.index}", "origin/main", cwd=self.work)
        (self.work / "load").mkdir(exist_ok=True)

    # --- the loop -----------------------------------------------------------------------------
    def run(self, began: float, deadline: float):
        ops, weights = list(MIX), list(MIX.values())
        opening = list(OPENING)
        while time.monotonic() < deadline:
            op = opening.pop(0) if opening else self.rng.choices(ops, weights)[0]
            start = time.monotonic()
            rejections = 0
            try:
                rejections = getattr(self, method_name(op))() or 0
                ok, detail = True, ""
            except OpError as error:
                ok, detail = False, redact(str(error))[-2000:]
            except Exception as error:  # a connection refused, a timeout: an error of the run, not a crash
                ok, detail = False, redact(f"{type(error).__name__}: {error}")[-2000:]
            self.samples.append(Sample(op, start - began, time.monotonic() - start, ok, detail, rejections))

    # --- pages ----------------------------------------------------------------------------------
    def _page(self, path: str, must_hold: str = ""):
        url = f"{self.forge.base_url}/{OWNER}/{path}"
        response = self.web.get(url, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise OpError(f"GET {url}: {response.status_code}")
        if must_hold and must_hold not in response.text:
            raise OpError(f"GET {url}: 200 without {must_hold!r}")

    def op_page_home(self):
        self._page(MID, self.forge.targets.directory.split("/")[0])

    def op_page_tree(self):
        t = self.forge.targets
        self._page(f"{MID}/tree/main/{t.directory}", t.directory_entry)

    def op_page_blob(self):
        t = self.forge.targets
        self._page(f"{MID}/blob/main/{t.file}", t.file.rsplit("/", 1)[-1])

    def op_page_commits(self):
        self._page(f"{MID}/commits/main")

    def op_page_commit(self):
        self._page(f"{MID}/commit/{self.forge.targets.commit}", self.forge.targets.commit[:7])

    def op_page_issues(self):
        self._page(f"{MID}/issues", "Seeded issue")

    def op_page_pull(self):
        self._page(f"{MID}/pulls/{self.forge.targets.pull_number}", "Load test pull request")

    def op_page_search(self):
        self._page(f"{MID}/search?q={self.forge.targets.search_word}")

    def op_page_small_repo(self):
        self._page(self.rng.choice(SMALL), "README")

    # --- API --------------------------------------------------------------------------------------
    def _api(self, method: str, path: str, status: int, json=None):
        url = f"{self.forge.base_url}/api/v3/repos/{OWNER}/{MID}{path}"
        response = self.api.request(method, url, json=json, timeout=HTTP_TIMEOUT)
        if response.status_code != status:
            raise OpError(f"{method} {url}: {response.status_code} {response.text[:300]}")
        return response.json()

    def op_api_repo(self):
        if self._api("GET", "", 200).get("full_name") != f"{OWNER}/{MID}":
            raise OpError("GET repo: wrong full_name")

    def op_api_commits(self):
        if not self._api("GET", "/commits?per_page=30", 200):
            raise OpError("GET commits: an empty list")

    def op_api_contents(self):
        t = self.forge.targets
        if self._api("GET", f"/contents/{t.file}", 200).get("sha") != t.file_sha:
            raise OpError(f"GET contents/{t.file}: not blob {t.file_sha}")

    def op_api_issues(self):
        if not isinstance(self._api("GET", "/issues?state=all&per_page=30", 200), list):
            raise OpError("GET issues: not a list")

    def op_api_create_issue(self):
        title = f"Load issue from c{self.index}, {len(self.created) + 1}"
        issue = self._api("POST", "/issues", 201, {"title": title, "body": "Opened under load."})
        self.created.append(Created(f"/issues/{issue['number']}", "title", title))

    def op_api_create_comment(self):
        number = self.rng.choice(self.forge.targets.issue_numbers + [self.forge.targets.pull_number])
        body = f"A comment from c{self.index} under load, {len(self.created) + 1}."
        comment = self._api("POST", f"/issues/{number}/comments", 201, {"body": body})
        self.created.append(Created(f"/issues/comments/{comment['id']}", "body", body))

    # --- git --------------------------------------------------------------------------------------
    def _git(self, *args, cwd=None, check=True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["git", *map(str, args)], cwd=cwd, env=self.forge.git.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=GIT_TIMEOUT)
        if check and proc.returncode != 0:
            raise OpError(f"git {' '.join(map(str, args))}: exit {proc.returncode}: "
                          + proc.stderr.decode(errors="replace")[-1500:])
        return proc

    def _clone(self, name: str):
        self.clones_made += 1
        dest = self.scratch / f"clone-{self.clones_made}.git"
        try:
            self._git("clone", "-q", "--bare", self.forge.git_url(name), dest)
            self._git("--git-dir", dest, "rev-parse", "--verify", "-q", "refs/heads/main")
        finally:
            shutil.rmtree(dest, ignore_errors=True)

    def op_git_clone(self):
        self._clone(MID)

    def op_git_clone_small(self):
        self._clone(self.rng.choice(SMALL))

    def op_git_fetch(self):
        self._git("fetch", "-q", "origin", cwd=self.work)

    def _commit(self, filename: str) -> str:
        self.pushes_made += 1
        path = self.work / "load" / filename
        path.parent.mkdir(exist_ok=True)  # a checkout of a main without load/ removes the directory
        with open(path, "a") as f:
            f.write(f"c{self.index} push {self.pushes_made} at {time.time():.3f}\n")
        self._git("add", f"load/{filename}", cwd=self.work)
        self._git("commit", "-q", "-m", f"Load: c{self.index}, push {self.pushes_made}", cwd=self.work)
        return self._git("rev-parse", "HEAD", cwd=self.work).stdout.decode().strip()

    def _push(self, ref: str) -> tuple[bool, str]:
        """(accepted, the refusal) of `git push origin HEAD:ref`; raises OpError for anything but an
        acceptance or a not-fast-forward refusal."""
        proc = self._git("push", "--porcelain", "origin", f"HEAD:{ref}", cwd=self.work, check=False)
        out = proc.stdout.decode(errors="replace")
        status = [line for line in out.splitlines() if line.count("\t") >= 2 and line.split("\t")[1].endswith(":" + ref)]
        if status and status[0][0] in " *+" and proc.returncode == 0:
            return True, ""
        if status and status[0][0] == "!" and any(m in status[0] for m in REJECTION_MARKERS):
            return False, status[0]
        raise OpError(f"git push origin HEAD:{ref}: exit {proc.returncode}: {out[-800:]}"
                      + proc.stderr.decode(errors="replace")[-1200:])

    def op_git_push_branch(self):
        oid = self._commit(f"c{self.index}.txt")
        accepted, refusal = self._push(f"refs/heads/{self.branch}")
        if not accepted:
            raise OpError(f"push to the client's own branch refused: {refusal}")
        self.pushes.append(AcceptedPush(f"refs/heads/{self.branch}", oid, self.index))

    def op_git_push_shared(self):
        """One new commit on main, rebased and pushed again while others' pushes win the race."""
        self._git("checkout", "-q", "-B", f"shared-c{self.index}", "refs/remotes/origin/main", cwd=self.work)
        try:
            self._commit(f"shared-c{self.index}.txt")
            rejections = 0
            for _ in range(SHARED_PUSH_ATTEMPTS):
                accepted, _refusal = self._push("refs/heads/main")
                if accepted:
                    oid = self._git("rev-parse", "HEAD", cwd=self.work).stdout.decode().strip()
                    self.pushes.append(AcceptedPush("refs/heads/main", oid, self.index))
                    return rejections
                rejections += 1
                self._git("fetch", "-q", "origin", cwd=self.work)
                self._git("rebase", "-q", "refs/remotes/origin/main", cwd=self.work)
            raise OpError(f"push to main refused {rejections} times in a row (not fast-forward)")
        finally:
            if (self.work / ".git" / "rebase-merge").exists() or (self.work / ".git" / "rebase-apply").exists():
                self._git("rebase", "--abort", cwd=self.work, check=False)  # after an error: leave a usable clone
            self._git("checkout", "-q", f"load-c{self.index}", cwd=self.work, check=False)


def method_name(op: str) -> str:
    """"page:small-repo" -> "op_page_small_repo"."""
    return "op_" + op.replace(":", "_").replace("-", "_")


assert all(hasattr(VirtualUser, method_name(op)) for op in MIX), "an operation of MIX without its method"


def run_clients(clients: list[VirtualUser], duration: float) -> tuple[float, float]:
    """Runs every client's loop in its own thread; returns (began, ended) on time.monotonic()."""
    began = time.monotonic()
    threads = [threading.Thread(target=c.run, args=(began, began + duration), name=f"load-c{c.index}") for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return began, time.monotonic()
