"""/settings (e-mail, password) and /settings/tokens, through the whole Django stack."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AgentToken
from accounts.tokens import hash_token, issue_token

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def alice(make_user):
    return make_user("alice", password=PASSWORD)


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def new_token(client, label="laptop", scopes=("repo:read", "repo:write"), expires="30"):
    response = client.post("/settings/tokens", {"label": label, "scopes": list(scopes), "expires": expires},
                           follow=True)
    assert response.redirect_chain == [("/settings/tokens", 302)], response.content
    match = re.search(r'id="new-token" readonly size="60" value="(forge_[^"]+)"', response.content.decode())
    return response, match.group(1)


@pytest.mark.parametrize("path", ["/settings", "/settings/tokens", "/new"])
def test_account_pages_send_visitors_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == f"/login?next={path.replace('/', '%2F')}"


@pytest.mark.parametrize("path", ["/settings", "/settings/tokens", "/new"])
def test_a_token_cannot_use_account_pages(client, alice, path):
    # An admin-scoped token still may not mint tokens or change the password: that would let it
    # outgrow the scopes it was given.
    _, token = issue_token(alice, "agent", ["repo:read", "repo:write", "issues:write", "pulls:merge", "admin"])
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
    response = client.post("/settings/tokens", {"label": "more", "scopes": ["admin"], "expires": "never"},
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert AgentToken.objects.count() == 1


def test_change_password_needs_the_old_one_and_keeps_this_session(signed_in, alice):
    other_session = Client()
    other_session.force_login(alice)
    bad = signed_in.post("/settings/password", {"old_password": "wrong", "new_password1": "a new long passphrase",
                                                "new_password2": "a new long passphrase"})
    assert bad.status_code == 400
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    good = signed_in.post("/settings/password", {"old_password": PASSWORD, "new_password1": "a new long passphrase",
                                                 "new_password2": "a new long passphrase"})
    assert good.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a new long passphrase")
    assert signed_in.get("/").wsgi_request.actor.name == "alice"
    # Every other session of the account is signed out.
    assert other_session.get("/").wsgi_request.actor.name == ""


def test_an_account_without_password_can_set_one(client, make_user):
    user = make_user("octo")
    client.force_login(user)
    page = client.get("/settings").content.decode()
    assert "Set a password" in page and "old_password" not in page
    response = client.post("/settings/password", {"new_password1": "a new long passphrase",
                                                  "new_password2": "a new long passphrase"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a new long passphrase")


def test_change_email(signed_in, alice):
    assert signed_in.post("/settings", {"email": "not an address"}).status_code == 400
    assert signed_in.post("/settings", {"email": "alice@example.com"}).status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_new_token_is_shown_once_and_only_its_hash_is_kept(signed_in, alice):
    response, token = new_token(signed_in, scopes=("repo:read", "pulls:merge"), expires="7")
    assert response["Cache-Control"] == "no-store"
    row = AgentToken.objects.get(user=alice)
    assert row.label == "laptop" and row.scope_set == {"repo:read", "pulls:merge"}
    assert row.token_hash == hash_token(token) and token not in str(row.__dict__)
    assert timedelta(days=6, hours=23) < row.expires_at - timezone.now() <= timedelta(days=7)
    # The list shows its prefix, never the token again; the session no longer holds it.
    assert "forge_new_token" not in signed_in.session
    page = signed_in.get("/settings/tokens").content.decode()
    assert token not in page and row.prefix in page and "laptop" in page and "pulls:merge" in page
    # The token works at once.
    assert Client().get("/api/v3/user", HTTP_AUTHORIZATION=f"token {token}").json()["login"] == "alice"


def test_token_without_expiry_and_form_errors(signed_in, alice):
    _, token = new_token(signed_in, expires="never")
    assert AgentToken.objects.get(user=alice).expires_at is None
    for data in ({"label": "", "scopes": ["repo:read"], "expires": "30"},
                 {"label": "x", "scopes": [], "expires": "30"},
                 {"label": "x", "scopes": ["repo:root"], "expires": "30"},
                 {"label": "x", "scopes": ["repo:read"], "expires": "3650"}):
        assert signed_in.post("/settings/tokens", data).status_code == 400
    assert AgentToken.objects.filter(user=alice).count() == 1


def test_token_list_shows_last_use_and_state(signed_in, alice):
    _, used = new_token(signed_in, label="used")
    Client().get("/api/v3/user", HTTP_AUTHORIZATION=f"token {used}")
    expired, _ = issue_token(alice, "old", ["repo:read"], expires_days=1)
    AgentToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = signed_in.get("/settings/tokens").content.decode()
    used_row = re.search(r'<tr id="token-\d+" class="usable">\s*<td>used</td>.*?</tr>', page, re.S).group(0)
    assert "just now" in used_row and "Revoke" in used_row
    expired_row = re.search(rf'<tr id="token-{expired.pk}".*?</tr>', page, re.S).group(0)
    assert "expired" in expired_row and "Revoke" not in expired_row


def test_revoke_is_a_post_for_your_own_tokens_only(signed_in, alice, make_user):
    _, token = new_token(signed_in)
    row = AgentToken.objects.get(user=alice)
    assert signed_in.get(f"/settings/tokens/{row.pk}/revoke").status_code == 405
    bob = make_user("bob", password=PASSWORD)
    bobs = Client()
    bobs.force_login(bob)
    assert bobs.post(f"/settings/tokens/{row.pk}/revoke").status_code == 404
    assert Client().get("/api/v3/user", HTTP_AUTHORIZATION=f"token {token}").status_code == 200
    assert signed_in.post(f"/settings/tokens/{row.pk}/revoke").status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert Client().get("/api/v3/user", HTTP_AUTHORIZATION=f"token {token}").status_code == 401
    assert "revoked" in signed_in.get("/settings/tokens").content.decode()


@pytest.mark.parametrize("path, data", [
    ("/settings/tokens", {"label": "x", "scopes": ["repo:read"], "expires": "30"}),
    ("/settings", {"email": "x@example.com"}),
    ("/settings/password", {"old_password": PASSWORD, "new_password1": "a new long passphrase",
                            "new_password2": "a new long passphrase"}),
    ("/new", {"name": "proj", "visibility": "public", "default_branch": "main"}),
])
def test_account_forms_refuse_a_post_without_the_csrf_token(alice, path, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(path, data).status_code == 403
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and alice.email == ""
    assert not AgentToken.objects.exists() and not alice.repositories.exists()
