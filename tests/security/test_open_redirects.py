"""Attack: a link to Forge's sign-in page whose `next` sends the victim, freshly signed in, to a
look-alike site (an open redirect), or runs script (javascript:).

Every place that follows `next` — /login (GET when signed in, POST), /signup, /logout, and the
GitHub OAuth flow (its begin carries `next` through GitHub and back) — is given hostile targets,
plain and encoded, and the Location it answers must stay on this site as a browser reads it (a
browser drops tabs and newlines, takes a backslash for a slash, and `//host` for another host).
The OAuth flow runs for real against a live Forge and tests/support/fake_github.py.
"""
import re
from urllib.parse import quote, urlsplit

import pytest
import requests
from django.test import Client

from tests.support.fake_github import FakeGitHub
from tests.support.servers import start_server

HOSTILE = [
    "//evil.com", "///evil.com", "////evil.com/", "https://evil.com", "http://evil.com/x", "https:evil.com",
    "https:/evil.com", "/\\evil.com", "\\\\evil.com", "\\/evil.com", "/\\/evil.com", "http:\\\\evil.com",
    "/\t/evil.com", "/\n/evil.com", " //evil.com", "\x00//evil.com", "javascript:alert(1)", "JavaScript:alert(1)",
    "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>", "%2F%2Fevil.com", "/%2F/evil.com",
    "/%5Cevil.com", "%5C%5Cevil.com", "evil.com", "https://testserver@evil.com", "//testserver@evil.com",
    "https://evil.com/testserver", "/\u3002/evil.com", "\uff0f\uff0fevil.com",
]


def stays_here(location: str, host: str) -> bool:
    """Does a browser, following this Location from http://host/..., stay on host?"""
    browser_view = re.sub(r"[\t\n\r]", "", location).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08 ").replace("\\", "/")
    parts = urlsplit(browser_view)
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        return False  # javascript:, data:, ...
    if browser_view.startswith("//") or (parts.netloc and parts.netloc.lower() != host):
        return False
    # "https:evil.com": browsers read it as https://evil.com
    return not (parts.scheme and not parts.netloc)


def test_the_predicate_itself():
    assert stays_here("/alice/repo?tab=1", "testserver") and stays_here("http://testserver/x", "testserver")
    assert not any(stays_here(target, "testserver") for target in
                   ("//evil.com", "/\\evil.com", "https:evil.com", "javascript:x", "/\t/evil.com"))


@pytest.fixture
def alice(db, make_user):
    return make_user("alice", password="pw-alice-secret")


def location(response):
    assert response.status_code in (301, 302, 303, 307, 308), response.status_code
    return response["Location"]


@pytest.mark.parametrize("target", HOSTILE, ids=[repr(t) for t in HOSTILE])
def test_local_accounts_never_redirect_off_site(alice, target):
    anonymous = Client()
    page = anonymous.get("/login", {"next": target})
    assert page.status_code == 200
    # Any `next` the page carries on into its forms is a safe one.
    for carried in re.findall(rb'name="next" value="([^"]*)"', page.content):
        assert stays_here(carried.decode(), "testserver"), carried
    signed_in = anonymous.post("/login", {"username": "alice", "password": "pw-alice-secret", "next": target})
    assert stays_here(location(signed_in), "testserver"), location(signed_in)
    # Signed in: GET /login and /signup bounce to `next`, and /logout.
    assert stays_here(location(anonymous.get("/login", {"next": target})), "testserver")
    assert stays_here(location(anonymous.get("/signup", {"next": target})), "testserver")
    assert stays_here(location(anonymous.post("/logout", {"next": target})), "testserver")
    assert stays_here(location(anonymous.post(f"/logout?next={quote(target)}")), "testserver")
    fresh = Client()
    signed_up = fresh.post("/signup", {"username": "newcomer", "password": "a long pass phrase 9",
                                       "password_again": "a long pass phrase 9", "next": target})
    assert stays_here(location(signed_up), "testserver"), location(signed_up)


def test_a_safe_next_is_still_followed(alice):
    # The other half of the contract: a local `next` works, so the checks above test a live feature.
    response = Client().post("/login", {"username": "alice", "password": "pw-alice-secret",
                                        "next": "/alice?tab=repositories"})
    assert location(response) == "/alice?tab=repositories"


# --- GitHub sign-in, live -----------------------------------------------------------------------------------------
KEY, SECRET = "Iv1.securitytest", "security-test-secret"


@pytest.fixture(scope="module")
def oauth(tmp_path_factory):
    with FakeGitHub(KEY, SECRET) as fake:
        server = start_server(tmp_path_factory.mktemp("redirects") / "data", extra_env={
            "FORGE_GITHUB_KEY": KEY, "FORGE_GITHUB_SECRET": SECRET,
            "FORGE_GITHUB_URL": fake.url, "FORGE_GITHUB_API_URL": fake.api_url})
        fake.callback_url = server.url + "/oauth/complete/github/"
        try:
            yield server, fake
        finally:
            server.stop()


def github_sign_in(server, fake, next_value, user_id):
    """Runs the whole flow from the sign-in form with `next`; returns the Location Forge finally sends."""
    fake.next_user = fake.add_user(f"octo{user_id}", id=user_id, email=f"octo{user_id}@example.com")
    session = requests.Session()
    session.get(server.url + "/login", timeout=30)
    response = session.post(server.url + "/oauth/login/github/",
                            data={"csrfmiddlewaretoken": session.cookies["csrftoken"], "next": next_value},
                            headers={"Referer": server.url + "/login"}, allow_redirects=False, timeout=30)
    host = urlsplit(server.url).netloc
    for _ in range(6):
        assert response.status_code in (301, 302, 303), (response.status_code, response.text[:300])
        target = response.headers["Location"]
        absolute = requests.compat.urljoin(response.url, target)
        if urlsplit(absolute).netloc == host and urlsplit(absolute).path.startswith("/oauth/") or absolute.startswith(fake.url + "/login/oauth/authorize"):
            response = session.get(absolute, allow_redirects=False, timeout=30)
        else:
            return target, session
    raise AssertionError("the flow did not end")


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com",
                                    "javascript:alert(1)", "/\t/evil.com", "https:evil.com", "%2F%2Fevil.com"])
def test_github_sign_in_never_redirects_off_site(oauth, target):
    server, fake = oauth
    user_id = 1000 + HOSTILE.index(target) if target in HOSTILE else 999
    final, session = github_sign_in(server, fake, target, user_id)
    assert stays_here(final, urlsplit(server.url).netloc), final
    assert "signed-in" in session.get(server.url + "/", timeout=30).text  # the flow did sign in


def test_github_sign_in_follows_a_safe_next(oauth):
    server, fake = oauth
    final, _ = github_sign_in(server, fake, "/settings/tokens", 2000)
    assert final.endswith("/settings/tokens"), final
