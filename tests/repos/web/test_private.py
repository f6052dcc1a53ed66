"""A private repository is a 404 to everyone who may not read it, on every page, raw file and
archive; its owner and collaborators see it. Lists leave it out."""
from urllib.parse import quote

import pytest
from django.test import Client

from accounts.tokens import issue_token
from repos.models import Collaborator
from tests.repos.web.test_pages import get, text

PAGES = ["", "/tree/main", "/tree/main/src", "/blob/main/src/app.py", "/raw/main/src/app.py",
         "/blame/main/src/app.py", "/commits", "/commits/main", "/commits/main/src/app.py",
         "/compare/main...feature/deep/x", "/branches", "/tags", "/archive/main.tar.gz", "/archive/main.zip",
         "/tree/feature/deep/x", "?format=md"]


@pytest.fixture
def secret(register, special_template, make_user):
    repo = register(special_template, "carol", "secret", private=True)
    make_user("mallory")
    make_user("friend")
    Collaborator.objects.create(repository=repo, user=repo.owner.__class__.objects.get(username="friend"))
    return repo


def _sha(client):
    body = text(get(client, "/carol/secret/commits/main?format=md"))
    return body.split("\n- ")[1].split()[0]


def _logged_in(name):
    from django.contrib.auth import get_user_model
    c = Client()
    c.force_login(get_user_model().objects.get(username=name))
    return c


def test_strangers_get_404_everywhere(secret):
    owner = _logged_in("carol")
    sha = _sha(owner)
    urls = ["/carol/secret" + p for p in PAGES] + [f"/carol/secret/commit/{sha}", f"/carol/secret/tree/{sha}"]
    for client in (Client(), _logged_in("mallory")):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            # The page may repeat the URL asked for (the sign-in link's `next`), nothing more.
            body = response.content.replace(quote(url).encode(), b"").lower().replace(b"/carol/secret", b"")
            assert b"app.py" not in body and b"secret" not in body
    for client in (owner, _logged_in("friend")):
        for url in urls:
            assert client.get(url).status_code == 200, url


def test_agent_tokens_need_read_scope(secret):
    from django.contrib.auth import get_user_model
    carol = get_user_model().objects.get(username="carol")
    _, token = issue_token(carol, label="reader", scopes=["repo:read"])
    assert Client().get("/carol/secret/tree/main", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    _, other = issue_token(get_user_model().objects.get(username="mallory"), label="x", scopes=["repo:read"])
    assert Client().get("/carol/secret/tree/main", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404


def test_lists_leave_private_repositories_out(secret):
    for url in ("/", "/carol", "/?format=md", "/carol?format=md"):
        assert b"secret" not in Client().get(url).content
    assert b"carol/secret" in _logged_in("carol").get("/carol").content
