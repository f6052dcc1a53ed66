"""The test repository and the client states derived from it (bare clients some commits behind,
a working clone), built once per size and kept in a cache directory between runs."""
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import MAKE_REPO, PYTHON, log
from bench.gitcli import Git

FETCH_DEPTHS = (1, 200)



class Fixtures:
    """full.git with N commits, base-1.git, base-200.git and worktree, in the cache directory."""

    def __init__(self, git: Git, commits: int, cache: Path):
        self.git = git
        # a changed generator must not reuse repositories built by the old one
        digest = hashlib.sha256(MAKE_REPO.read_bytes()).hexdigest()[:10]
        self.dir = cache / f"repo-{commits}-{digest}"
        self.full = self.dir / "full.git"
        if not (self.dir / "done").exists():
            self.build(commits)
        self.main = git.out("--git-dir", self.full, "rev-parse", "refs/heads/main")
        self.refs = self.ref_list(self.full)
        self.objects = self.count_objects()

    def count_objects(self) -> int:
        out = self.git.out("--git-dir", self.full, "count-objects", "-v")
        values = dict(line.split(": ") for line in out.splitlines())
        return int(values["count"]) + int(values["in-pack"])

    def ref_list(self, git_dir) -> dict[str, str]:
        out = self.git.out("--git-dir", git_dir, "for-each-ref", "--format=%(objectname) %(refname)")
        return {name: oid for oid, name in (line.split() for line in out.splitlines())}

    def build(self, commits: int):
        if self.dir.exists():
            shutil.rmtree(self.dir)
        # built aside and renamed into place, so an interrupted build is never taken for a finished one
        tmp = Path(tempfile.mkdtemp(prefix=self.dir.name + ".", dir=self.dir.parent))
        log(f"building the test repository ({commits} commits) in {self.dir} (cached for next time)")
        try:
            subprocess.run([str(PYTHON), str(MAKE_REPO), str(tmp / "full.git"), "--commits", str(commits)],
                           check=True, env=self.git.env)
            full = tmp / "full.git"
            for depth in FETCH_DEPTHS:
                self.make_base(full, tmp / f"base-{depth}.git", depth)
            # a working clone of the full repository, for the one-commit push
            self.git.run("clone", "-q", "--no-local", full, tmp / "worktree")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        (tmp / "done").write_text("ok\n")
        tmp.rename(self.dir)

    def make_base(self, full: Path, out: Path, depth: int):
        """A bare client repository holding the history of main~depth only (every ref that contains
        something newer is dropped, main is moved back), with no objects beyond it."""
        git = self.git
        target = git.out("--git-dir", full, "rev-parse", f"refs/heads/main~{depth}")
        git.run("clone", "-q", "--mirror", "--no-local", full, out)
        keep = set(git.out("--git-dir", out, "for-each-ref", "--format=%(refname)", "--merged", target).splitlines())
        commands = [f"update refs/heads/main {target}"]
        commands += [f"delete {ref}" for ref in self.ref_list(out) if ref not in keep and ref != "refs/heads/main"]
        git.run("--git-dir", out, "update-ref", "--stdin", input=("\n".join(commands) + "\n").encode())
        git.run("--git-dir", out, "reflog", "expire", "--expire=now", "--all")
        git.run("--git-dir", out, "gc", "-q", "--prune=now")
        # fetch exactly the branches and tags, whatever else a server advertises
        git.run("--git-dir", out, "config", "--unset-all", "remote.origin.fetch")
        git.run("--git-dir", out, "config", "--unset", "remote.origin.mirror")
        git.run("--git-dir", out, "config", "--add", "remote.origin.fetch", "+refs/heads/*:refs/heads/*")
        git.run("--git-dir", out, "config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*")
        main = git.out("--git-dir", full, "rev-parse", "refs/heads/main")
        missing = int(git.out("--git-dir", full, "rev-list", "--count", f"{target}..{main}"))
        log(f"  base state main~{depth}: {missing} commits behind main")
