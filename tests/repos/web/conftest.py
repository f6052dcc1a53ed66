"""Repositories for page tests: made by real git (make-test-repo and hand-made ones), landed in a
store the way a push lands, and registered through the real services. Pages are fetched with
Django's test client through the whole middleware stack."""
import base64
import shutil

import pytest

from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out
from tests.support.sources import make_test_repo

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture(scope="session")
def sample_git(tmp_path_factory):
    """make-test-repo's history (150 commits, merged feature/… branches, renames), with tags."""
    path = make_test_repo(tmp_path_factory.mktemp("sample") / "sample.git", 150)
    git("-C", path, "tag", "-a", "v1.0", "-m", "release 1.0\n\nThe first release.", "main~5")
    git("-C", path, "tag", "light", "main~2")
    return path


@pytest.fixture(scope="session")
def special_git(tmp_path_factory):
    """Binary, image, large and hostile content, made with real git."""
    work = tmp_path_factory.mktemp("special")
    git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text(
        "# Hello <script>alert('readme')</script>\n\n"
        "[click](javascript:alert(1)) and [docs](docs/guide.md) and ![logo](img/logo.png)\n\n"
        "<img src=x onerror=alert(2)>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n")
    (work / "docs").mkdir()
    (work / "docs" / "guide.md").write_text("# Guide\n\nSee [the readme](../README.md).\n")
    (work / "img").mkdir()
    (work / "img" / "logo.png").write_bytes(PNG)
    (work / "data.bin").write_bytes(bytes(range(256)) * 64)
    (work / "big.txt").write_text("".join(f"line {i} of a big file\n" for i in range(60000)))
    (work / "<img src=x onerror=alert(3)>.txt").write_text("hostile name\n")
    (work / "page.html").write_text("<html><script>alert('raw')</script></html>\n")
    (work / "src").mkdir()
    (work / "src" / "app.py").write_text("def main():\n    return '<b>' + \"x\"\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "Add <script>alert('msg')</script> & friends\n\nBody <b>bold</b>")
    git("-C", work, "checkout", "-q", "-b", "feature/deep/x")
    (work / "src" / "app.py").write_text("def main():\n    return 'changed'\n")
    git("-C", work, "commit", "-q", "-am", "Change app on a branch with slashes")
    git("-C", work, "checkout", "-q", "main")
    bare = tmp_path_factory.mktemp("special-bare") / "special.git"
    git("clone", "-q", "--bare", work, bare)
    return bare


def _store_template(tmp_path_factory, source, name):
    path = tmp_path_factory.mktemp(f"tpl-{name}") / "store.sqlite3"
    scratch = tmp_path_factory.mktemp(f"tpl-{name}-scratch")
    with RepoStore.create(path) as store:
        mirror(store, scratch, source)
        head = out("-C", source, "symbolic-ref", "HEAD").strip()
        store.set_head(head)
    return path


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory, sample_git):
    return _store_template(tmp_path_factory, sample_git, "sample")


@pytest.fixture(scope="session")
def special_template(tmp_path_factory, special_git):
    return _store_template(tmp_path_factory, special_git, "special")


def _registered(make_user, template, owner, name, **options):
    # Django is configured by tests/conftest.py, after pytest may have imported this file.
    from django.contrib.auth import get_user_model

    from repos.selectors import store_path
    from repos.services import create_repository
    user = get_user_model().objects.filter(username=owner).first() or make_user(owner)
    repo = create_repository(user, name, **options)
    if template is not None:
        shutil.copyfile(template, store_path(repo))
    return repo


@pytest.fixture
def sample_repo(db, make_user, sample_template):
    """alice/sample: the make-test-repo history, public."""
    return _registered(make_user, sample_template, "alice", "sample")


@pytest.fixture
def special_repo(db, make_user, special_template):
    """alice/special: binary, image, large and hostile content, public."""
    return _registered(make_user, special_template, "alice", "special")


@pytest.fixture
def register(db, make_user):
    """register(template or None, owner, name, private=…) -> Repository."""
    return lambda template, owner, name, **options: _registered(make_user, template, owner, name, **options)
