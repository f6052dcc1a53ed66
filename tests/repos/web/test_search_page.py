"""The search page and the settings page's rebuild button, through the whole Django stack."""
import pytest
from django.test import Client

from repos.store import RepoStore
from repos.store import search as index
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tiny_git(tmp_path_factory):
    work = tmp_path_factory.mktemp("search-page-src")
    git("init", "-q", "-b", "main", work)
    (work / "hello.py").write_text("print('hello <b>world</b>')\nsearch_me = 1\n")
    (work / "blob.bin").write_bytes(b"\0\1\2search_me\0")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "Hello <script>")
    bare = tmp_path_factory.mktemp("search-page-bare") / "tiny.git"
    git("clone", "-q", "--bare", work, bare)
    return bare


@pytest.fixture
def repo(make_user, tiny_git, tmp_path):
    from repos.selectors import store_path
    from repos.services import create_repository
    alice = make_user("alice")
    make_user("bob")
    repo = create_repository(alice, "tiny")
    with RepoStore.open(store_path(repo)) as store:
        mirror(store, tmp_path, tiny_git)
    return repo


def _as(name):
    from django.contrib.auth import get_user_model
    client = Client()
    client.force_login(get_user_model().objects.get(username=name))
    return client


def test_results_are_escaped_and_binaries_are_said_to_be_left_out(repo):
    html = Client().get("/alice/tiny/search?q=hello").content.decode()
    assert "&lt;b&gt;world&lt;/b&gt;" in html and "<b>world" not in html
    html = Client().get("/alice/tiny/search?q=search_me").content.decode()
    assert "hello.py" in html and "blob.bin" not in html
    data = Client().get("/alice/tiny/search?q=search_me", HTTP_ACCEPT="application/json").json()
    assert [f["path"] for f in data["files"]] == ["hello.py"] and data["skipped"]
    data = Client().get("/alice/tiny/search?q=%40message%3Ahello", HTTP_ACCEPT="application/json").json()
    assert data["commits"][0]["summary"] == "Hello <script>"
    html = Client().get("/alice/tiny/search?q=%40message%3Ahello").content.decode()
    assert "Hello &lt;script&gt;" in html and "<script>" not in html.replace('<script src=', '')


def test_an_empty_query_shows_the_form(repo):
    response = Client().get("/alice/tiny/search")
    assert response.status_code == 200 and 'name="q"' in response.content.decode()


def test_the_owner_rebuilds_the_index_and_others_cannot(repo):
    from repos.selectors import store_path
    assert Client().post("/alice/tiny/settings/search-index").status_code == 404
    assert _as("bob").post("/alice/tiny/settings/search-index").status_code == 404
    assert _as("alice").get("/alice/tiny/settings/search-index").status_code == 405
    response = _as("alice").post("/alice/tiny/settings/search-index", follow=True)
    assert response.redirect_chain[-1] == ("/alice/tiny/settings", 302)
    assert "Search index rebuilt: 1 file indexed, 1 binary or over 1 MiB left out." in response.content.decode()
    with RepoStore.open(store_path(repo)) as store:
        assert index.indexed_commit(store) == store.ref("refs/heads/main")
