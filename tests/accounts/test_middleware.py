"""ActorMiddleware through the whole Django stack (test Client), observed on the request the view got."""
import base64
import ipaddress

import pytest

from accounts.tokens import issue_token, revoke_token

pytestmark = pytest.mark.django_db

SPOOFED = {
    "HTTP_X_FORGE_ACTOR_KIND": "user",
    "HTTP_X_FORGE_ACTOR_NAME": "root",
    "HTTP_X_FORGE_ACTOR_ID": "1",
    "HTTP_X_FORGE_ACTOR_SCOPES": "admin",
    "HTTP_X_FORGE_ACTOR_OWNER": "root",
}


@pytest.fixture
def alice(make_user):
    return make_user("alice", password="correct horse battery")


@pytest.fixture
def root(make_user):
    return make_user("root", admin=True)


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def actor_headers(request):
    return {key: value for key, value in request.META.items() if key.startswith("HTTP_X_FORGE_ACTOR_")}


def test_anonymous_request(client):
    response = client.get("/")
    request = response.wsgi_request
    assert response.status_code == 200
    assert request.actor.is_anonymous
    assert actor_headers(request) == {
        "HTTP_X_FORGE_ACTOR_ID": "",
        "HTTP_X_FORGE_ACTOR_NAME": "",
        "HTTP_X_FORGE_ACTOR_KIND": "anonymous",
        "HTTP_X_FORGE_ACTOR_SCOPES": "",
        "HTTP_X_FORGE_ACTOR_OWNER": "",
    }


def test_spoofed_actor_headers_from_an_untrusted_client_are_dropped(client, root, settings):
    settings.FORGE_TRUSTED_PROXIES = []
    response = client.get("/", **SPOOFED)
    request = response.wsgi_request
    assert request.actor.is_anonymous
    assert request.META["HTTP_X_FORGE_ACTOR_KIND"] == "anonymous"
    assert request.META["HTTP_X_FORGE_ACTOR_NAME"] == ""


def test_spoofed_headers_are_dropped_when_the_client_is_outside_the_trusted_network(client, root, settings):
    settings.FORGE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    response = client.get("/", REMOTE_ADDR="192.168.1.5", **SPOOFED)
    assert response.wsgi_request.actor.is_anonymous


def test_actor_headers_from_a_trusted_proxy_are_honoured(client, root, settings):
    settings.FORGE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    response = client.get("/", REMOTE_ADDR="10.1.2.3", **SPOOFED)
    actor = response.wsgi_request.actor
    assert actor.kind == "user"
    assert actor.name == "root"
    assert actor.user_id == root.pk


def test_trusted_proxy_can_name_an_agent_with_scopes(client, alice, settings):
    settings.FORGE_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1")]
    response = client.get(
        "/",
        HTTP_X_FORGE_ACTOR_KIND="agent",
        HTTP_X_FORGE_ACTOR_NAME="alice",
        HTTP_X_FORGE_ACTOR_SCOPES="repo:write,bogus",
    )
    actor = response.wsgi_request.actor
    assert actor.kind == "agent"
    assert (actor.name, actor.owner, actor.user_id) == ("alice", "alice", alice.pk)
    assert actor.scopes == {"repo:read", "repo:write"}
    assert response.wsgi_request.META["HTTP_X_FORGE_ACTOR_SCOPES"] == "repo:read repo:write"


def test_trusted_proxy_naming_an_unknown_user_gives_anonymous(client, settings):
    settings.FORGE_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1")]
    response = client.get("/", HTTP_X_FORGE_ACTOR_KIND="user", HTTP_X_FORGE_ACTOR_NAME="nobody")
    assert response.wsgi_request.actor.is_anonymous


@pytest.mark.parametrize("scheme", ["basic", "bearer", "token"])
def test_token_makes_an_agent_acting_for_its_owner(client, alice, scheme):
    token, plaintext = issue_token(alice, "ci", ["repo:read"])
    header = {
        "basic": basic("whoever", plaintext),
        "bearer": f"Bearer {plaintext}",
        "token": f"token {plaintext}",
    }[scheme]
    response = client.get("/", HTTP_AUTHORIZATION=header, **SPOOFED)
    request = response.wsgi_request
    assert response.status_code == 200
    assert request.actor.kind == "agent"
    assert (request.actor.name, request.actor.owner, request.actor.token_id) == ("alice", "alice", token.pk)
    assert request.actor.has_scope("repo:read") and not request.actor.has_scope("repo:write")
    assert actor_headers(request) == {
        "HTTP_X_FORGE_ACTOR_ID": str(alice.pk),
        "HTTP_X_FORGE_ACTOR_NAME": "alice",
        "HTTP_X_FORGE_ACTOR_KIND": "agent",
        "HTTP_X_FORGE_ACTOR_SCOPES": "repo:read",
        "HTTP_X_FORGE_ACTOR_OWNER": "alice",
    }


@pytest.mark.parametrize(
    "header",
    [
        "Bearer forge_not-a-real-token",
        "token nonsense",
        "Bearer ",
        "Basic !!!not-base64!!!",
    ],
)
def test_invalid_credentials_are_refused_with_a_challenge(client, header):
    response = client.get("/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Forge"'
    assert response.content.decode().strip() == "Bad credentials"


def test_account_password_is_not_accepted_over_basic_auth(client, alice):
    response = client.get("/", HTTP_AUTHORIZATION=basic("alice", "correct horse battery"))
    assert response.status_code == 401


def test_revoked_token_is_refused_not_treated_as_anonymous(client, alice):
    token, plaintext = issue_token(alice, "ci", ["repo:read"])
    revoke_token(token)
    response = client.get("/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 401


def test_token_of_an_inactive_user_is_refused(client, alice):
    _, plaintext = issue_token(alice, "ci", ["repo:read"])
    alice.is_active = False
    alice.save()
    assert client.get("/", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 401


def test_session_user_has_every_scope(client, alice):
    client.force_login(alice)
    response = client.get("/")
    actor = response.wsgi_request.actor
    assert actor.kind == "user"
    assert actor.name == "alice"
    assert all(actor.has_scope(scope) for scope in ("repo:write", "admin", "pulls:merge"))


def test_token_wins_over_the_session(client, alice, make_user):
    bob = make_user("bob")
    _, plaintext = issue_token(bob, "ci", ["repo:read"])
    client.force_login(alice)
    actor = client.get("/", HTTP_AUTHORIZATION=f"Bearer {plaintext}").wsgi_request.actor
    assert (actor.kind, actor.name) == ("agent", "bob")


def test_token_requests_need_no_csrf_token(alice):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    _, plaintext = issue_token(alice, "ci", ["repo:read"])
    # The home page accepts only GET; a 405 (not 403) shows the CSRF check let the request through.
    assert csrf_client.post("/", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 405
    assert csrf_client.post("/").status_code == 403
