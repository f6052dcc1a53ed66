"""The Forge side of the browsing benchmark: a real Forge started as bench/sides.py's ForgeSide
does (temporary FORGE_DATA_DIR, gunicorn), the test repository pushed into it with the real git
CLI over smart HTTP; or an already running Forge (`--forge-url URL --repo OWNER/NAME`)."""
import json
import sqlite3
import time
from pathlib import Path

from bench.common import ROOT, BenchError, log
from bench.gitcli import Git
from bench.procs import descendants
from bench.sides import ForgeSide


class ForgeBrowseSide:
    label = "forge"

    def __init__(self, base_url: str, repo: str, forge: ForgeSide | None = None):
        self.base_url, self.repo, self.forge = base_url.rstrip("/"), repo, forge

    @classmethod
    def start(cls, work: Path, git: Git, full: Path, name: str) -> "ForgeBrowseSide":
        """A fresh Forge with `full` pushed (all branches and tags) into a public OWNER/NAME."""
        warn_if_static_not_collected()
        forge = ForgeSide(work, git)
        try:
            url = forge.create_repo(name)
            log(f"forge: pushing {full} into {forge.USER}/{name} (git push --mirror)")
            started = time.perf_counter()
            git.run("--git-dir", full, "push", "-q", "--mirror", url)
            log(f"forge: pushed in {time.perf_counter() - started:.1f} s")
            wait_until_clean(forge, name)
        except BaseException:
            forge.stop()
            raise
        return cls(f"http://127.0.0.1:{forge.port}", f"{forge.USER}/{name}", forge)

    @classmethod
    def external(cls, url: str, repo: str) -> "ForgeBrowseSide":
        if repo.count("/") != 1:
            raise BenchError(f"--repo wants OWNER/NAME, got {repo!r}")
        log(f"forge: measuring the running Forge at {url}, repository {repo} (expected to hold the test repository)")
        return cls(url, repo)

    def describe(self) -> str:
        if self.forge is None:
            return f"Forge at {self.base_url} (started elsewhere)"
        return self.forge.describe()

    def server_pids(self):
        return descendants(self.forge.proc.pid) if self.forge else []

    def stop(self):
        if self.forge:
            self.forge.stop()


def wait_until_clean(forge: ForgeSide, name: str, limit=90.0):
    """Forge repacks in the background after a push that left the store unclean; a repack running
    while pages are timed would be measured too. An initial push normally lands clean."""
    path = forge.store_path(name)
    deadline = time.time() + limit
    while True:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
            row = db.execute("SELECT value FROM meta WHERE key='clean'").fetchone()
        if row and row[0] == "1":
            return
        if time.time() > deadline:
            log(f"forge: the store is still not clean after {limit:.0f} s; measuring anyway")
            return
        time.sleep(1)


def warn_if_static_not_collected():
    """Forge serves static files through a manifest that `make setup` (collectstatic) writes; a page
    naming a static file the manifest lacks answers 500. Say so before that looks like Forge's fault."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    try:
        collected = set(json.loads(manifest.read_text())["paths"])
    except (OSError, ValueError, KeyError):
        collected = set()
    sources = {str(p.relative_to(ROOT / "static")) for p in (ROOT / "static").rglob("*") if p.is_file()}
    if sources - collected:
        log(f"forge: WARNING: {', '.join(sorted(sources - collected))} not in {manifest.relative_to(ROOT)}: "
            "run `make setup` (collectstatic) first, or pages that use them answer 500")
