"""Fixtures for the end-to-end git tests: a live Forge (gunicorn on a free loopback port, its own data
directory), users and tokens made with the management commands, and source repositories built by
../shared/make-test-repo.py.

FORGE_TEST_AGAINST_GIT=1 points the same tests at git's own `git http-backend` (tests/support/githttpd.py)
instead of Forge; tests marked `forge_only` (accounts, access rules, Forge's own behaviour) are skipped
then. That mode is how the tests' expectations are checked against git itself.
"""
import hashlib
import inspect
import itertools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import githttpd, gitcli, servers  # noqa: E402
from tests.support.gitcli import git  # noqa: E402
from tests.support.sources import MAKE_TEST_REPO, make_test_repo  # noqa: E402

REFERENCE = os.environ.get("FORGE_TEST_AGAINST_GIT") == "1"
TAG_DATE = "1700500000 +0200"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "forge_only(reason): checks Forge's own rules; skipped against git http-backend")


@pytest.fixture(autouse=True)
def _skip_forge_only_against_git(request):
    marker = request.node.get_closest_marker("forge_only")
    if marker and REFERENCE:
        pytest.skip("Forge's own behaviour, not git's: " + (marker.args[0] if marker.args else ""))


# --- servers ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def forge_server(tmp_path_factory):
    """The server under test for the whole session (git http-backend when FORGE_TEST_AGAINST_GIT=1)."""
    if not REFERENCE:
        missing = [p for p in ("manage.py", "forge/gunicorn.conf.py", ".venv/bin/gunicorn") if not (ROOT / p).exists()]
        if missing:
            pytest.fail(f"cannot start Forge, missing: {', '.join(missing)}")
    server = servers.start_server(tmp_path_factory.mktemp("forge-data"), reference=REFERENCE)
    yield server
    server.stop()


@pytest.fixture
def forge_server_factory(tmp_path_factory):
    """Starts extra servers with extra environment, e.g. factory({"FORGE_MAX_PUSH_BYTES": "200000"})."""
    started = []

    def start(extra_env=None):
        server = servers.start_server(tmp_path_factory.mktemp("forge-data-extra"), extra_env=extra_env,
                                      reference=REFERENCE)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class Account:
    name: str
    token: str


@pytest.fixture(scope="session")
def alice(forge_server):
    return Account("alice", forge_server.token("alice"))


@pytest.fixture(scope="session")
def bob(forge_server):
    return Account("bob", forge_server.token("bob"))


@pytest.fixture(params=["0", "2"], ids=["v0", "v2"])
def proto(request):
    """The protocol version a client asks for: use as git(..., proto=proto)."""
    return request.param


# --- repositories on the server -----------------------------------------------------------------------------------

_names = itertools.count(1)


@dataclass
class RemoteRepo:
    server: object
    owner: str
    name: str
    token: str

    @property
    def url(self):
        """With the owner's token as HTTP Basic password."""
        return self.server.repo_url(self.owner, self.name, self.token)

    @property
    def anon_url(self):
        return self.server.repo_url(self.owner, self.name)

    def url_with(self, token, suffix=".git"):
        return self.server.repo_url(self.owner, self.name, token, suffix=suffix)

    def ls_remote(self):
        return gitcli.ls_remote(self.url)

    def counts(self):
        return self.server.store_counts(self.owner, self.name)

    def snapshot(self):
        """What must not change when a push fails: advertised refs and the store's row counts."""
        return {"refs": self.ls_remote(), "counts": self.counts()}


def unique_name(prefix):
    return f"{prefix}-{next(_names)}"


@pytest.fixture
def uncreated_repo(forge_server, alice):
    """A RemoteRepo handle for alice/<unique name> that does not exist yet (a push may create it)."""
    return RemoteRepo(forge_server, alice.name, unique_name("created"), alice.token)


@pytest.fixture
def new_repo(forge_server, alice):
    """new_repo(seed=None, owner=alice, private=False, prefix="r") -> RemoteRepo, empty or mirrored from seed."""

    def make(seed=None, owner=None, private=False, prefix="r"):
        owner = owner or alice
        repo = RemoteRepo(forge_server, owner.name, unique_name(prefix), owner.token)
        forge_server.createrepo(f"{repo.owner}/{repo.name}", private=private)
        if seed is not None:
            git("-C", seed, "push", "-q", "--mirror", repo.url)
        return repo

    return make


# --- source repositories --------------------------------------------------------------------------------------------

def _add_tags(bare):
    """make-test-repo makes annotated tags only every 500 commits: add annotated, nested and lightweight ones."""
    env = {"GIT_COMMITTER_DATE": TAG_DATE, "GIT_AUTHOR_DATE": TAG_DATE}
    git("-C", bare, "tag", "-a", "-m", "First preview\n\nWith a body.", "v0.1", "main~25", env=env)
    git("-C", bare, "tag", "-a", "-m", "Second preview", "v0.2", "main", env=env)
    git("-C", bare, "tag", "-a", "-m", "A tag of a tag", "v0.2-approved", "v0.2", env=env)
    git("-C", bare, "tag", "light", "main~3", env=env)
    git("-C", bare, "tag", "-a", "-m", "The root tree", "root-tree", "main~25^{tree}", env=env)
    branches = sorted(r for r in gitcli.refs(bare, "refs/heads/feature"))
    if branches:
        git("-C", bare, "tag", "-a", "-m", "On a branch", "feature-done", branches[0], env=env)


def _build_source(cache_dir, commits, max_files, seed):
    """Builds (or reuses from pytest's cache) a bare repository from make-test-repo.py plus tags."""
    if not MAKE_TEST_REPO.exists():
        pytest.fail(f"{MAKE_TEST_REPO} not found (expected beside the checkout, in ../shared)")
    key = hashlib.sha1(MAKE_TEST_REPO.read_bytes() + repr((commits, max_files, seed, TAG_DATE)).encode()
                       + inspect.getsource(_add_tags).encode()).hexdigest()[:16]
    dest = Path(cache_dir) / f"src-{commits}-{key}.git"
    if (dest / "forge-test-complete").exists():
        return str(dest)
    for old in Path(cache_dir).glob(f"src-{commits}-*.git"):  # earlier versions
        shutil.rmtree(old, ignore_errors=True)
    make_test_repo(dest, commits, "--seed", str(seed), *(["--max-files", str(max_files)] if max_files else []))
    _add_tags(str(dest))
    gitcli.fsck(str(dest))
    (dest / "forge-test-complete").write_text("ok\n")
    return str(dest)


@pytest.fixture(scope="session")
def sources_dir(request, tmp_path_factory):
    """Where source repositories are built: pytest's cache (kept between runs) when it is on."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("forge-git-sources") if cache else tmp_path_factory.mktemp("sources")


@pytest.fixture(scope="session")
def source_repo(sources_dir):
    """The make-test-repo history, 300 commits (bare; branches, merges, renames, tags)."""
    return _build_source(sources_dir, 300, None, 7)


@pytest.fixture(scope="session")
def small_source(sources_dir):
    """A smaller history (40 commits, 120 files) for tests that change what they push to."""
    return _build_source(sources_dir, 40, 120, 11)


def _mirrored(server, owner, name, source):
    repo = RemoteRepo(server, owner.name, name, owner.token)
    server.createrepo(f"{owner.name}/{name}")
    git("-C", source, "push", "-q", "--mirror", repo.url)
    return repo


@pytest.fixture(scope="session")
def hist_repo(forge_server, alice, source_repo):
    """source_repo pushed with --mirror to alice/history once per session; tests only read it."""
    return _mirrored(forge_server, alice, "history", source_repo)


@pytest.fixture(scope="session")
def small_hist_repo(forge_server, alice, small_source):
    """small_source pushed with --mirror to alice/small-history once per session; tests only read it."""
    return _mirrored(forge_server, alice, "small-history", small_source)


@pytest.fixture(scope="session")
def reference_urls(tmp_path_factory, source_repo, small_source):
    """{"source": URL, "small": URL}: the source repositories served by git's own http-backend, the oracle
    for what a command should give over HTTP."""
    root = tmp_path_factory.mktemp("reference")
    os.makedirs(root / "ref")
    os.symlink(source_repo, root / "ref" / "source.git")
    os.symlink(small_source, root / "ref" / "small.git")
    base, stop = githttpd.start(str(root))
    yield {"source": f"{base}/ref/source.git", "small": f"{base}/ref/small.git"}
    stop()
