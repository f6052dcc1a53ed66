"""Repositories and stores the benchmarks share, built once and cached: a make-test-repo history
of N commits (bare), and a store mirroring a repository as a push lands it."""
import subprocess
from pathlib import Path

from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.support.sources import make_test_repo


def cached_repository(cache: Path, commits: int) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    repo = cache / f"repo-{commits}.git"
    if not (cache / f"repo-{commits}.done").exists():
        print(f"building a {commits}-commit repository in {repo} (cached)", flush=True)
        subprocess.run(["rm", "-rf", str(repo)], check=True)
        make_test_repo(repo, commits)
        (cache / f"repo-{commits}.done").write_text("ok\n")
    return repo


def cached_store(store_dir: Path, repo: Path) -> Path:
    store_path = store_dir / "repo.sqlite3"
    if not (store_dir / "done").exists():
        print(f"mirroring it into a store at {store_path} (cached)", flush=True)
        subprocess.run(["rm", "-rf", str(store_dir)], check=True)
        store_dir.mkdir(parents=True)
        with RepoStore.create(store_path) as store:
            mirror(store, store_dir, repo)
        (store_dir / "done").write_text("ok\n")
    return store_path


def prepare(cache: Path, commits: int):
    """(bare repository, store path), built on first use."""
    repo = cached_repository(cache, commits)
    return repo, cached_store(cache / f"store-{commits}", repo)
