"""After the load: the no-lost-push check, and a reference phase of clones against git http-backend.

No lost push: for every push a client saw accepted, the pushed commit must be on the server, in the
history of the branch it was pushed to: `git ls-remote` (each client's own branch must be exactly its
last accepted commit, no one else pushes there), then a final `git clone --mirror`, where every
accepted commit must be reachable from its branch (`git rev-list`), and the clone must pass
`git fsck --strict`. No lost write either: every issue and comment the API created is read back.

Reference: the final state of the repository pushed (`--mirror`) into git's own `git http-backend`
(bench/sides.py `GitSide`), then N sequential `git clone --bare` from each server, alternating which
goes first; the median of each and their ratio give the load figures a yardstick on this machine."""
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.gitcli import Git
from bench.load_client import AcceptedPush, Created
from bench.load_seed import MID, OWNER, SeededForge
from bench.sides import GitSide


@dataclass
class PushCheck:
    accepted: int = 0
    lost: list[str] = field(default_factory=list)  # "ref oid (client N): why"
    refs_checked: int = 0
    fsck_ok: bool = False
    fsck_output: str = ""
    final_main: str = ""
    final_clone: Path | None = None

    @property
    def ok(self) -> bool:
        return self.fsck_ok and not self.lost


def check_pushes(forge: SeededForge, work: Path, pushes: list[AcceptedPush]) -> PushCheck:
    git = forge.git
    check = PushCheck(accepted=len(pushes))
    url = forge.git_url(MID)
    advertised = {}
    for line in git.out("ls-remote", url).splitlines():
        oid, name = line.split("\t")
        advertised[name] = oid
    last_by_ref: dict[str, AcceptedPush] = {}
    for push in pushes:
        last_by_ref[push.ref] = push
    for ref, push in last_by_ref.items():
        if ref != "refs/heads/main" and advertised.get(ref) != push.oid:
            check.lost.append(f"{ref} {push.oid} (client {push.client}): ls-remote says {advertised.get(ref)}")

    final = work / "final.git"
    shutil.rmtree(final, ignore_errors=True)
    git.run("clone", "-q", "--mirror", url, final)
    check.final_clone = final
    check.final_main = git.out("--git-dir", final, "rev-parse", "refs/heads/main")
    for ref in sorted(last_by_ref):
        history = set(git.out("--git-dir", final, "rev-list", ref, check=False).split())
        check.refs_checked += 1
        for push in pushes:
            if push.ref == ref and push.oid not in history:
                check.lost.append(f"{ref} {push.oid} (client {push.client}): not in the final clone's history of {ref}")
    cloned = dict(reversed(line.split(" ", 1)) for line in
                  git.out("--git-dir", final, "for-each-ref", "--format=%(objectname) %(refname)",
                          "refs/heads").splitlines())
    advertised_heads = {name: oid for name, oid in advertised.items() if name.startswith("refs/heads/")}
    if cloned != advertised_heads:
        check.lost.append("the final clone's branches differ from what ls-remote advertised just before")
    fsck = git.run("--git-dir", final, "fsck", "--strict", "--no-progress", check=False)
    check.fsck_ok = fsck.returncode == 0
    check.fsck_output = (fsck.stdout + fsck.stderr).decode(errors="replace")[-2000:]
    return check


def check_writes(forge: SeededForge, created: list[Created]) -> list[str]:
    """Every issue and comment the API created (201) during the load, read back: what is missing or different."""
    session = requests.Session()
    session.headers.update(Authorization=f"token {forge.visitor_token}", Accept="application/vnd.github+json")
    lost = []
    for item in created:
        response = session.get(f"{forge.base_url}/api/v3/repos/{OWNER}/{MID}{item.path}", timeout=60)
        if response.status_code != 200:
            lost.append(f"{item.path}: {response.status_code}")
        elif response.json().get(item.field) != item.value:
            lost.append(f"{item.path}: {item.field} is {response.json().get(item.field)!r}, not {item.value!r}")
    return lost


@dataclass
class ReferenceClones:
    runs: int
    forge_seconds: list[float]
    git_seconds: list[float]
    packed_mib: float

    @property
    def forge_median(self) -> float:
        return statistics.median(self.forge_seconds)

    @property
    def git_median(self) -> float:
        return statistics.median(self.git_seconds)

    @property
    def ratio(self) -> float:
        return self.forge_median / self.git_median


def reference_clones(forge: SeededForge, git: Git, work: Path, final_clone: Path, runs: int) -> ReferenceClones:
    """`runs` sequential bare clones of the mid repository from Forge and from git http-backend, alternating."""
    side = GitSide(work, git, name="reference-git")
    try:
        git_url = side.create_repo(MID)
        git.run("--git-dir", final_clone, "push", "-q", "--mirror", git_url)
        urls = {"forge": forge.git_url(MID), "git": git_url}
        times = {"forge": [], "git": []}
        for run in range(runs):
            for label in (("forge", "git") if run % 2 == 0 else ("git", "forge")):
                dest = work / f"reference-{label}-{run}.git"
                start = time.perf_counter()
                git.run("clone", "-q", "--bare", urls[label], dest)
                times[label].append(time.perf_counter() - start)
                shutil.rmtree(dest, ignore_errors=True)
        packed = sum(p.stat().st_size for p in (final_clone / "objects" / "pack").glob("*.pack"))
        return ReferenceClones(runs, times["forge"], times["git"], packed / (1024 * 1024))
    finally:
        side.stop()
