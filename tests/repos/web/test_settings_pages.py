"""/OWNER/NAME/settings through the whole middleware stack: each form does what it says and answers
with a redirect and a message; bad input shows the page again and changes nothing; CSRF is
enforced; GET changes nothing; only the owner and site admins (and their agents with the admin
scope) see or change anything, everyone else gets 404; old names answer 301 to the new ones."""
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.tokens import issue_token
from repos.models import Collaborator, Repository, RepositoryRedirect
from repos.selectors import store_path
from repos.store import RepoStore
from repos.views.common import STORES
from tests.repos.web.test_pages import get, text

BASE = "/alice/sample"
POSTS = {
    "general": {"description": "changed", "visibility": "private", "default_branch": "main"},
    "rename": {"name": "changed"},
    "delete": {"confirm": "alice/sample"},
    "collaborators/add": {"username": "mallory", "permission": "write"},
    "collaborators/bob/permission": {"permission": "write"},
    "collaborators/bob/remove": {},
}


def user(name):
    return get_user_model().objects.get(username=name)


def signed_in(name, **options):
    client = Client(**options)
    client.force_login(user(name))
    return client


@pytest.fixture
def sample(sample_repo, make_user):
    """alice/sample (public) with bob as a reader and carol as a writer; mallory is a stranger."""
    for name in ("bob", "carol", "mallory"):
        make_user(name)
    Collaborator.objects.create(repository=sample_repo, user=user("bob"), permission="read")
    Collaborator.objects.create(repository=sample_repo, user=user("carol"), permission="write")
    return sample_repo


def state(repo):
    """Everything a settings form could change."""
    fresh = Repository.objects.filter(pk=repo.pk).first()
    if fresh is None:
        return None
    with RepoStore.open(store_path(fresh)) as store:
        head = store.head_ref()
    return (fresh.name, fresh.description, fresh.is_private, fresh.default_branch, head,
            sorted(Collaborator.objects.filter(repository=fresh).values_list("user__username", "permission")),
            sorted(RepositoryRedirect.objects.values_list("name", flat=True)))


def branches(repo):
    with RepoStore.open(store_path(repo)) as store:
        return [name[len("refs/heads/"):] for name, _, _ in store.refs() if name.startswith("refs/heads/")]


# --- who may see the settings -----------------------------------------------------------------------------------------

def test_the_owner_sees_both_pages_and_the_tab(sample):
    owner = signed_in("alice")
    page = text(get(owner, f"{BASE}/settings"))
    forms = dict(re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S))
    assert list(forms)[-4:] == [f"{BASE}/settings/{action}" for action in ("general", "rename", "search-index", "delete")]
    assert all('name="csrfmiddlewaretoken"' in body for body in forms.values())
    assert "an administrator can restore it from the server's trash" in page
    assert f'<option value="main" selected>main</option>' in page  # a select of the existing branches
    assert f'href="{BASE}/settings"' in text(get(owner, BASE))
    listing = text(get(owner, f"{BASE}/settings/collaborators"))
    assert 'id="collaborator-bob"' in listing and 'id="collaborator-carol"' in listing
    forms = dict(re.findall(r'<form[^>]* method="post" action="([^"]+)">(.*?)</form>', listing, re.S))
    assert {f"{BASE}/settings/collaborators/{action}" for action in (
        "bob/permission", "bob/remove", "carol/permission", "carol/remove", "add")} <= set(forms)
    assert all('name="csrfmiddlewaretoken"' in body for body in forms.values())


def test_a_site_admin_may_change_settings(sample, make_user):
    make_user("root", admin=True)
    admin = signed_in("root")
    get(admin, f"{BASE}/settings")
    response = admin.post(f"{BASE}/settings/general", {**POSTS["general"], "visibility": "public"})
    assert response.status_code == 302
    assert Repository.objects.get(pk=sample.pk).description == "changed"


@pytest.mark.parametrize("who", [None, "mallory", "bob", "carol"])
def test_everyone_else_gets_404_and_changes_nothing(sample, who):
    client = signed_in(who) if who else Client()
    before = state(sample)
    for url in (f"{BASE}/settings", f"{BASE}/settings/collaborators"):
        assert client.get(url).status_code == 404
    for action, data in POSTS.items():
        assert client.post(f"{BASE}/settings/{action}", data).status_code == 404, action
    assert state(sample) == before
    assert f'href="{BASE}/settings"' not in text(get(client, BASE))


def test_an_agent_needs_the_admin_scope(sample):
    _, plain = issue_token(user("alice"), label="bot", scopes=["repo:read", "repo:write"])
    before = state(sample)
    assert Client().get(f"{BASE}/settings", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 404
    for action, data in POSTS.items():
        response = Client().post(f"{BASE}/settings/{action}", data, HTTP_AUTHORIZATION=f"Bearer {plain}")
        assert response.status_code == 404, action
    assert state(sample) == before
    assert f'href="{BASE}/settings"' not in text(get(Client(), BASE, HTTP_AUTHORIZATION=f"Bearer {plain}"))

    _, admin = issue_token(user("alice"), label="admin bot", scopes=["admin"])
    assert Client().get(f"{BASE}/settings", HTTP_AUTHORIZATION=f"Bearer {admin}").status_code == 200
    response = Client().post(f"{BASE}/settings/general", {**POSTS["general"], "visibility": "public"},
                             HTTP_AUTHORIZATION=f"Bearer {admin}")
    assert response.status_code == 302 and Repository.objects.get(pk=sample.pk).description == "changed"


# --- CSRF and methods ---------------------------------------------------------------------------------------------------

def test_forms_without_the_csrf_token_are_refused(sample):
    owner = signed_in("alice", enforce_csrf_checks=True)
    before = state(sample)
    for action, data in POSTS.items():
        assert owner.post(f"{BASE}/settings/{action}", data).status_code == 403, action
    assert state(sample) == before
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(get(owner, f"{BASE}/settings"))).group(1)
    response = owner.post(f"{BASE}/settings/general", {**POSTS["general"], "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Repository.objects.get(pk=sample.pk).is_private


def test_get_never_changes_anything(sample):
    owner = signed_in("alice")
    before = state(sample)
    for action, data in POSTS.items():
        assert owner.get(f"{BASE}/settings/{action}", data).status_code == 405, action
    get(owner, f"{BASE}/settings?" + "&".join(f"{k}={v}" for k, v in POSTS["rename"].items()))
    assert state(sample) == before


def test_settings_pages_are_not_cached(sample):
    response = get(signed_in("alice"), f"{BASE}/settings")
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


# --- general -----------------------------------------------------------------------------------------------------------

def test_general_settings_reach_the_row_and_the_store(sample):
    owner = signed_in("alice")
    other = next(b for b in branches(sample) if b != "main")
    response = owner.post(f"{BASE}/settings/general",
                          {"description": "  Sample things ", "visibility": "private", "default_branch": other})
    assert response.status_code == 302 and response["Location"] == f"{BASE}/settings"
    assert "Settings saved." in text(get(owner, response["Location"]))
    fresh = Repository.objects.get(pk=sample.pk)
    assert (fresh.description, fresh.is_private, fresh.default_branch) == ("Sample things", True, other)
    with RepoStore.open(store_path(fresh)) as store:
        assert store.head_ref() == f"refs/heads/{other}"
    assert Client().get(BASE).status_code == 404  # private now
    assert signed_in("bob").get(BASE).status_code == 200  # a reader still sees it


@pytest.mark.parametrize("data, error", [
    ({"description": "x" * 501, "visibility": "public", "default_branch": "main"}, "at most 500 characters"),
    ({"description": "", "visibility": "public", "default_branch": "no-such-branch"}, "no branch named"),
    ({"description": "", "visibility": "public", "default_branch": "bad..name"}, "invalid branch name"),
    ({"description": "", "visibility": "secret", "default_branch": "main"}, "Select a valid choice"),
])
def test_bad_general_settings_show_the_error_and_change_nothing(sample, data, error):
    owner = signed_in("alice")
    before = state(sample)
    response = owner.post(f"{BASE}/settings/general", data)
    assert response.status_code == 400
    assert error in text(response).replace("&#x27;", "'").replace("&#39;", "'")
    assert state(sample) == before


def test_an_empty_repository_takes_any_branch_name(register):
    empty = register(None, "alice", "empty")
    owner = signed_in("alice")
    page = text(get(owner, "/alice/empty/settings"))
    assert 'name="default_branch" type="text"' in page
    assert owner.post("/alice/empty/settings/general", {"visibility": "public", "default_branch": "trunk"}
                      ).status_code == 302
    with RepoStore.open(store_path(empty)) as store:
        assert store.head_ref() == "refs/heads/trunk"


# --- rename ------------------------------------------------------------------------------------------------------------

def test_rename_redirects_every_old_url(sample, special_repo):
    owner = signed_in("alice")
    response = owner.post(f"{BASE}/settings/rename", {"name": "Renamed"})
    assert response.status_code == 302 and response["Location"] == "/alice/Renamed/settings"
    assert "Renamed alice/sample to alice/Renamed" in text(get(owner, response["Location"]))

    for old, new in [
        (BASE, "/alice/Renamed"),
        ("/ALICE/Sample/commits/main?page=2", "/alice/Renamed/commits/main?page=2"),
        (f"{BASE}/tree/main", "/alice/Renamed/tree/main"),
        (f"{BASE}/archive/main.tar.gz", "/alice/Renamed/archive/main.tar.gz"),
        (f"{BASE}/settings", "/alice/Renamed/settings"),
        (f"{BASE}/settings/collaborators", "/alice/Renamed/settings/collaborators"),
    ]:
        response = owner.get(old)
        assert (response.status_code, response["Location"]) == (301, new), old
    # Anyone who may read it is redirected; a private repository's old name says nothing to strangers.
    assert Client().get(BASE).status_code == 301
    assert get(owner, "/alice/Renamed").status_code == 200

    # A deep blob URL with characters that need quoting, and its query string.
    owner.post("/alice/special/settings/rename", {"name": "odd"})
    old = "/alice/special/blob/feature/deep/x/%3Cimg%20src=x%20onerror=alert(3)%3E.txt?plain=1&x=%26"
    response = owner.get(old)
    assert response.status_code == 301
    assert response["Location"] == "/alice/odd/blob/feature/deep/x/%3Cimg%20src=x%20onerror=alert(3)%3E.txt?plain=1&x=%26"
    assert get(owner, response["Location"]).status_code == 200
    # A form opened before the rename still posts, to the new name with its method and body kept.
    response = owner.post(f"{BASE}/settings/general", POSTS["general"])
    assert (response.status_code, response["Location"]) == (308, "/alice/Renamed/settings/general")
    assert Repository.objects.get(pk=sample.pk).description == ""


def test_renamed_private_repository_stays_hidden_under_its_old_name(sample):
    owner = signed_in("alice")
    owner.post(f"{BASE}/settings/general", {**POSTS["general"], "visibility": "private"})
    owner.post(f"{BASE}/settings/rename", {"name": "hidden"})
    assert Client().get(BASE).status_code == 404
    assert signed_in("mallory").get(BASE).status_code == 404
    assert signed_in("bob").get(BASE)["Location"] == "/alice/hidden"


def test_a_name_taken_back_by_a_new_repository_is_served_not_redirected(sample, register):
    owner = signed_in("alice")
    owner.post(f"{BASE}/settings/rename", {"name": "moved"})
    register(None, "alice", "sample")
    assert get(owner, BASE).status_code == 200
    assert owner.get("/alice/moved").status_code == 200


@pytest.mark.parametrize("name, error", [("special", "already exists"), ("SPECIAL", "already exists"),
                                         ("bad name", "invalid repository name"), ("tree", "reserved")])
def test_bad_rename_shows_the_error_and_changes_nothing(sample, special_repo, name, error):
    owner = signed_in("alice")
    before = state(sample)
    response = owner.post(f"{BASE}/settings/rename", {"name": name})
    assert response.status_code == 400 and error in text(response)
    assert state(sample) == before


# --- delete ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["", "sample", "alice/Sample", "bob/sample"])
def test_delete_needs_the_full_name_typed(sample, typed):
    owner = signed_in("alice")
    before = state(sample)
    response = owner.post(f"{BASE}/settings/delete", {"confirm": typed})
    assert response.status_code == 400 and "to confirm" in text(response)
    assert state(sample) == before


def test_delete_moves_the_store_to_the_trash(sample, settings, register):
    owner = signed_in("alice")
    get(owner, f"{BASE}/tree/main")  # leaves the store idle in STORES
    path = store_path(sample)
    assert any(key[0] == str(path) for key in STORES._idle)
    response = owner.post(f"{BASE}/settings/delete", {"confirm": " alice/sample "})
    assert response.status_code == 302 and response["Location"] == "/alice"
    assert "Deleted alice/sample" in text(get(owner, "/alice")).replace("&#39;", "'")
    assert not any(key[0] == str(path) for key in STORES._idle)
    assert not path.exists()
    trashed = list(Path(settings.FORGE_DATA_DIR, "trash").glob(f"{sample.store_id}-*.sqlite3"))
    assert len(trashed) == 1
    assert state(sample) is None and Collaborator.objects.count() == 0
    for url in (BASE, f"{BASE}/tree/main", f"{BASE}/settings"):
        assert owner.get(url).status_code == 404
    # A new repository of that name is a new, empty one.
    register(None, "alice", "sample")
    assert "empty" in text(get(owner, BASE)).lower()


# --- collaborators -----------------------------------------------------------------------------------------------------

def test_collaborators_are_added_changed_and_removed(sample):
    owner = signed_in("alice")
    url = f"{BASE}/settings/collaborators"
    response = owner.post(f"{url}/add", {"username": "Mallory", "permission": "read"})
    assert response.status_code == 302 and response["Location"] == url
    assert "mallory may now read alice/sample" in text(get(owner, url))
    assert owner.post(f"{url}/mallory/permission", {"permission": "write"}).status_code == 302
    assert owner.post(f"{url}/bob/remove").status_code == 302
    assert sorted(Collaborator.objects.values_list("user__username", "permission")) == [
        ("carol", "write"), ("mallory", "write")]
    assert "bob is no longer a collaborator" in text(get(owner, url))
    # Nobody to change or remove: 404.
    assert owner.post(f"{url}/bob/permission", {"permission": "read"}).status_code == 404
    assert owner.post(f"{url}/bob/remove").status_code == 404


@pytest.mark.parametrize("data, error", [
    ({"username": "nobody", "permission": "read"}, "there is no user named"),
    ({"username": "alice", "permission": "write"}, "owns alice/sample"),
    ({"username": "mallory", "permission": "admin"}, "Select a valid choice"),
    ({"username": "", "permission": "read"}, "This field is required"),
])
def test_bad_collaborator_input_shows_the_error_and_changes_nothing(sample, data, error):
    owner = signed_in("alice")
    before = state(sample)
    response = owner.post(f"{BASE}/settings/collaborators/add", data)
    assert response.status_code == 400 and error in text(response).replace("&#39;", "'")
    assert 'value="{}"'.format(data["username"]) in text(response) or not data["username"]
    response = owner.post(f"{BASE}/settings/collaborators/bob/permission", {"permission": "owner"})
    assert response.status_code == 400 and "Choose read or write" in text(response)
    assert state(sample) == before
