import pytest

from accounts.tokens import issue_token
from repos.services import create_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def repos(make_user):
    alice = make_user("alice")
    create_repository(alice, "open-thing", description="for everyone")
    create_repository(alice, "secret-thing", private=True)
    return alice


def test_anonymous_visitors_see_public_repositories_only(client, repos):
    page = client.get("/").content.decode()
    assert "alice/open-thing" in page and "for everyone" in page
    assert "secret-thing" not in page
    assert "Your repositories" not in page


def test_owner_sees_own_private_repositories(client, repos):
    client.force_login(repos)
    page = client.get("/").content.decode()
    assert "Your repositories" in page
    assert "alice/secret-thing" in page


def test_other_users_do_not_see_private_repositories(client, repos, make_user):
    client.force_login(make_user("bob"))
    page = client.get("/").content.decode()
    assert "secret-thing" not in page
    assert "alice/open-thing" in page


def test_agent_without_read_scope_sees_no_private_repositories(client, repos):
    _, token = issue_token(repos, "bot", ["issues:write"])
    page = client.get("/", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    assert "secret-thing" not in page


def test_static_stylesheet_is_linked(client):
    assert '/static/forge.css' in client.get("/").content.decode()
