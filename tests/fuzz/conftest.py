"""The repository the fuzz targets run against: small, made by real git, with branches whose names
hold '/', annotated and lightweight tags, a branch named like a commit id prefix, a symlink, unicode
and space-holding paths, a binary file and hostile Markdown. Landed in a store the way a push lands."""
import base64
import collections
import os
import shutil

import pytest

from repos.store import RepoStore
from tests.fuzz.fuzzing import CASES
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

OWNER, NAME = "fuzzer", "fz"
BRANCHES = ("main", "feature/deep/x", "release/1.0", "cafe")
TAGS = ("v1.0", "light", "feature")


# Cases run per target, added up from every test report: with pytest-xdist the tests run in worker
# processes, and only what travels in their reports reaches the process that prints the summary.
_TOTALS = collections.Counter()


@pytest.fixture(autouse=True)
def _report_cases(request):
    before = CASES.copy()
    yield
    ran = CASES - before
    if ran:
        request.node.user_properties.append(("fuzz_cases", dict(ran)))


def pytest_runtest_logreport(report):
    if report.when == "teardown":
        for key, value in report.user_properties:
            if key == "fuzz_cases":
                _TOTALS.update(value)


def pytest_terminal_summary(terminalreporter):
    if _TOTALS:
        terminalreporter.section("fuzz cases run per target")
        for target, n in sorted(_TOTALS.items()):
            terminalreporter.write_line(f"{target:<60} {n:>8}")


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


@pytest.fixture(scope="session")
def fuzz_git(tmp_path_factory):
    """The bare repository (real git made it)."""
    work = tmp_path_factory.mktemp("fuzz-src")
    git("init", "-q", "-b", "main", work)
    _write(work / "README.md", "# Fuzz <script>alert(1)</script>\n\n[x](javascript:alert(1)) [ok](docs/guide.md)\n")
    _write(work / "src" / "app.py", "def main():\n    return 'hello world'\n\nsearch_me = main()\n")
    _write(work / "docs" / "guide.md", "# Guide\n\nSee [the readme](../README.md). foo_bar(1)\n")
    _write(work / "dir with space" / "é ü.txt", "unicode name\n")
    _write(work / "a" / "b" / "c" / "deep.txt", "deep\n")
    _write(work / "weird%2e.txt", "percent in a name\n")
    _write(work / "data.bin", bytes(range(256)) * 4)
    (work / "link").symlink_to("src/app.py")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "First <b>commit</b>\n\nWith a body: NEAR AND OR \"quotes\"")
    _write(work / "src" / "app.py", "def main():\n    return 'hello again'\n")
    git("-C", work, "commit", "-q", "-am", "Second: change app")
    git("-C", work, "tag", "-a", "v1.0", "-m", "release 1.0")
    git("-C", work, "tag", "feature")
    for branch in BRANCHES[1:]:
        git("-C", work, "checkout", "-q", "-b", branch, "main")
        _write(work / branch.replace("/", "_") / "on-branch.txt", f"only on {branch}\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", f"Commit on {branch}")
    git("-C", work, "checkout", "-q", "main")
    _write(work / "src" / "app.py", "def main():\n    return 'third'\n")
    git("-C", work, "commit", "-q", "-am", "Third")
    git("-C", work, "tag", "light")
    bare = tmp_path_factory.mktemp("fuzz-bare") / "fz.git"
    git("clone", "-q", "--bare", work, bare)
    return bare


@pytest.fixture(scope="session")
def fuzz_template(tmp_path_factory, fuzz_git):
    """A store file holding the whole repository, copied for every test that writes to it."""
    path = tmp_path_factory.mktemp("fuzz-store") / "store.sqlite3"
    scratch = tmp_path_factory.mktemp("fuzz-store-scratch")
    with RepoStore.create(path) as store:
        mirror(store, scratch, fuzz_git)
        store.set_head(out("-C", fuzz_git, "symbolic-ref", "HEAD").strip())
    return path


@pytest.fixture
def fuzz_site(db, fuzz_template):
    """The repository registered on the site (public), with a read/write token of its owner.
    -> (repo, authorization header value, reset()); reset() puts the original store back."""
    from accounts.services import create_user
    from accounts.tokens import issue_token
    from repos.selectors import store_path
    from repos.services import create_repository
    from repos.views.common import STORES

    owner = create_user(OWNER)
    repo = create_repository(owner, NAME)
    _, token = issue_token(owner, "fuzz", "repo:read,repo:write")
    path = store_path(repo)

    def reset():
        STORES.forget(path)  # no pooled connection may outlive the file it was opened on
        for leftover in (f"{path}-wal", f"{path}-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        shutil.copyfile(fuzz_template, path)

    reset()
    authorization = "Basic " + base64.b64encode(f"{OWNER}:{token}".encode()).decode()
    return repo, authorization, reset
