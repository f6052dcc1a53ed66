"""/new: the new-repository form, through the whole Django stack."""
import pytest

from repos.models import Repository
from repos.selectors import store_path
from repos.store import RepoStore

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice", password="correct horse battery")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def create(client, name, **fields):
    return client.post("/new", {"name": name, "description": "", "visibility": "public",
                                "default_branch": "main", **fields})


def test_new_repository_lands_on_its_empty_page_with_the_clone_url(signed_in, alice):
    page = signed_in.get("/new").content.decode()
    assert "Owner: <strong>alice</strong>" in page and 'value="main"' in page
    response = create(signed_in, "proj", description="A project", visibility="private", default_branch="trunk")
    assert response.status_code == 302 and response["Location"] == "/alice/proj"
    repo = Repository.objects.get(owner=alice, name="proj")
    assert repo.is_private and repo.description == "A project" and repo.default_branch == "trunk"
    with RepoStore.open(store_path(repo)) as store:
        assert store.head_ref() == "refs/heads/trunk" and store.is_empty()
    page = signed_in.get("/alice/proj").content.decode()
    assert "This repository is empty" in page and "http://testserver/alice/proj.git" in page
    assert "git push -u origin trunk" in page


@pytest.mark.parametrize("name, message", [
    ("a..b", "cannot contain &#39;..&#39;"),
    ("..", "cannot begin"),
    (".hidden", "cannot begin"),
    ("settings", "reserved"),
    ("issues", "reserved"),
    ("proj.git", "cannot end with"),
    ("has space", "invalid repository name"),
    ("a/b", "invalid repository name"),
    ("x" * 101, "at most 100"),
])
def test_name_rules(signed_in, name, message):
    response = create(signed_in, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Repository.objects.exists()


def test_names_are_unique_per_owner_ignoring_case(signed_in, make_user, client):
    assert create(signed_in, "Proj").status_code == 302
    response = create(signed_in, "pROJ")
    assert response.status_code == 400 and "already exists" in response.content.decode()
    # Another owner may use the name.
    bob = make_user("bob", password="correct horse battery")
    signed_in.force_login(bob)
    assert create(signed_in, "proj").status_code == 302
    assert Repository.objects.count() == 2


def test_bad_default_branch_is_refused(signed_in):
    response = create(signed_in, "proj", default_branch="bad..name")
    assert response.status_code == 400 and "invalid branch name" in response.content.decode()
    assert not Repository.objects.exists()
