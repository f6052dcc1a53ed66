"""Attack: tokens that travel in URLs (browser history, proxy logs, Referer) or land in server logs.

A token in the query string (?access_token=, ?token=, ...) is never taken as authentication, on the
API, pages or git. And after a session of real git clones and pushes with a token, API calls with
`Authorization: token T` and `Bearer T`, a signed-in browser session, and failed authentications,
the server's log (whatever its format: gunicorn's access log, JSON request lines) holds no token
(not even one a client put in a query string), no Authorization value and no cookie value.
"""
import base64
from pathlib import Path

import pytest
import requests

from tests.security.conftest import commit_files, provision, raw_request
from tests.support import servers
from tests.support.gitcli import git

QUERY_NAMES = ["access_token", "token", "private_token", "auth", "password", "key"]


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("tokens") / "data")
    try:
        server.tokens = provision(server, {"alice": "repo:read,repo:write,issues:write", "eve": ""},
                                  [("alice/vault", True)])
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def quentin(forge, tmp_path_factory):
    """A token made for the query-string probes (and a push with it in the URL's user part, as git does)."""
    token = provision(forge, {"quentin": "repo:read,repo:write"}, [("quentin/private", True)])["quentin"]
    work = commit_files(tmp_path_factory.mktemp("q-work") / "w", {"a.txt": "a\n"})
    git("-C", work, "push", "-q", forge.repo_url("quentin", "mine", token), "main")  # push-to-create
    return token


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_a_token_in_the_query_string_is_not_authentication(forge, quentin, name):
    token = quentin
    query = f"{name}={token}"
    assert raw_request(forge.url, "GET", f"/api/v3/user?{query}").status == 401
    assert raw_request(forge.url, "GET", f"/api/v3/repos/quentin/private?{query}").status == 404
    assert raw_request(forge.url, "GET", f"/quentin/private?{query}").status == 404
    refs = raw_request(forge.url, "GET", f"/quentin/private.git/info/refs?service=git-upload-pack&{query}")
    assert refs.status == 401
    push = raw_request(forge.url, "GET", f"/quentin/mine.git/info/refs?service=git-receive-pack&{query}")
    assert push.status == 401
    # Basic credentials in the URL's user part are what git sends as a header: that one works.
    basic = base64.b64encode(f"x:{token}".encode()).decode()
    assert raw_request(forge.url, "GET", "/quentin/private.git/info/refs?service=git-upload-pack",
                       [("Authorization", f"Basic {basic}")]).status == 200


def test_the_log_holds_no_secret(forge, quentin, tmp_path):
    alice = forge.tokens["alice"]
    # quentin's token went in query strings above (the tests before this one): no URL logged with it either.
    secrets = {alice, quentin}
    # git: push, clone, fetch, a refused push (wrong token), a clone with a token that does not exist.
    url = forge.repo_url("alice", "vault", alice)
    work = commit_files(tmp_path / "work", {"README.md": "# vault\n"})
    git("-C", work, "push", "-q", url, "main")
    git("clone", "-q", url, tmp_path / "clone")
    git("-C", tmp_path / "clone", "fetch", "-q", "origin")
    bogus = "forge_" + "Z" * 36
    secrets.add(bogus)
    assert git("clone", forge.repo_url("alice", "vault", bogus), tmp_path / "nope", check=False).returncode != 0
    wrong_password = "not-a-token-but-a-password-123"
    secrets.add(wrong_password)
    assert git("ls-remote", forge.repo_url("alice", "vault", wrong_password, user="alice"),
               check=False).returncode != 0

    # API: both header forms, a write, a failure.
    api = forge.url + "/api/v3"
    for scheme in ("token", "Bearer"):
        answer = requests.get(f"{api}/user", headers={"Authorization": f"{scheme} {alice}"}, timeout=30)
        assert answer.status_code == 200
    created = requests.post(f"{api}/repos/alice/vault/issues", json={"title": "From the API"},
                            headers={"Authorization": f"token {alice}"}, timeout=30)
    assert created.status_code == 201, created.text
    assert requests.get(f"{api}/user", headers={"Authorization": f"token {bogus}"}, timeout=30).status_code == 401

    # A browser session: its session and CSRF cookies are secrets too.
    browser = requests.Session()
    browser.get(forge.url + "/login", timeout=30)
    csrf = browser.cookies["csrftoken"]
    signed_in = browser.post(forge.url + "/login", data={"username": "eve", "password": "pw-eve-secret",
                             "csrfmiddlewaretoken": csrf}, headers={"Referer": forge.url + "/login"},
                             allow_redirects=False, timeout=30)
    assert signed_in.status_code == 302, signed_in.text
    assert browser.get(forge.url + "/settings/tokens", timeout=30).status_code == 200
    failed = requests.post(forge.url + "/login", data={"username": "eve", "password": "pw-wrong-secret"},
                           timeout=30)
    assert failed.status_code == 403  # no CSRF cookie
    secrets |= {value for value in browser.cookies.values()} | {"pw-eve-secret", "pw-wrong-secret"}
    secrets.add(base64.b64encode(f"x:{alice}".encode()).decode())

    log = Path(forge.log_path).read_bytes().decode("utf-8", "replace")
    assert "/alice/vault" in log or "GET" in log, "the server logged nothing: this test would prove nothing"
    leaked = sorted(secret for secret in secrets if secret and secret in log)
    assert leaked == [], f"secrets in {forge.log_path}"
    for header in ("Authorization:", "Cookie:", "sessionid=", "csrftoken="):
        assert header.lower() not in log.lower(), header
