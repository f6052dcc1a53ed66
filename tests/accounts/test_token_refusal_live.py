"""Revoked, expired and under-scoped tokens against a live Forge, over real HTTP: the git CLI, web
pages and the API must all refuse them (a revoked or expired token with 401, as a wrong one; a
token lacking a scope as if it had no rights there)."""
import json
import urllib.error
import urllib.request

import pytest

from tests.support import servers
from tests.support.gitcli import git

ALICE = "alice"


def http(server, method, path, token=None, body=None):
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def expire(server, token):
    server.manage("shell", "-c", (
        "from datetime import timedelta; from django.utils import timezone; "
        "from accounts.models import AgentToken; from accounts.tokens import hash_token; "
        f"AgentToken.objects.filter(token_hash=hash_token({token!r}))"
        ".update(expires_at=timezone.now() - timedelta(minutes=1))"))


def revoke(server, token):
    server.manage("shell", "-c", (
        "from accounts.models import AgentToken; from accounts.tokens import hash_token, revoke_token; "
        f"revoke_token(AgentToken.objects.get(token_hash=hash_token({token!r})))"))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("token-refusal"))
    try:
        writer = server.writer = server.token(ALICE)
        work = tmp_path_factory.mktemp("work")
        git("init", "-q", "-b", "main", work)
        (work / "README.md").write_text("# secret\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", "First")
        server.createrepo(f"{ALICE}/secret", private=True)
        server.createrepo(f"{ALICE}/open")
        for name in ("secret", "open"):
            git("-C", work, "push", "-q", server.repo_url(ALICE, name, writer), "main")
        revoked, expired = server.token(ALICE), server.token(ALICE, expires_days=1)
        revoke(server, revoked)
        expire(server, expired)
        tokens = {
            "writer": writer,
            "revoked": revoked,
            "expired": expired,
            "issues-only": server.token(ALICE, scopes="issues:write"),
            "read-only": server.token(ALICE, scopes="repo:read"),
        }
        yield server, work, tokens
    finally:
        server.stop()


def heads(server, name):
    return git("ls-remote", server.repo_url(ALICE, name, server.writer), "refs/heads/*").stdout


def try_push(server, work, name, token, tmp_path):
    clone = tmp_path / f"push-{name}"
    git("clone", "-q", server.repo_url(ALICE, name, server.writer), clone)
    (clone / "new.txt").write_text("should not land\n")
    git("-C", clone, "add", "-A")
    git("-C", clone, "commit", "-q", "-m", "Refused")
    return git("-C", clone, "push", server.repo_url(ALICE, name, token), "main", check=False)


@pytest.mark.parametrize("kind", ["revoked", "expired"])
def test_dead_tokens_are_401_for_git_web_and_api(served, kind, tmp_path):
    server, work, tokens = served
    token = tokens[kind]
    before = heads(server, "open")
    proc = git("clone", server.repo_url(ALICE, "secret", token), tmp_path / "clone", check=False)
    assert proc.returncode != 0 and "Authentication failed" in proc.stderr, proc.stderr
    assert try_push(server, work, "open", token, tmp_path).returncode != 0
    assert heads(server, "open") == before
    # Even on public pages, which anyone may read: a presented token that is dead is refused, not ignored.
    for path in (f"/{ALICE}/open", f"/{ALICE}/secret", f"/{ALICE}/open/raw/main/README.md", "/"):
        assert http(server, "GET", path, token)[0] == 401, path
    for path in ("/api/v3/user", f"/api/v3/repos/{ALICE}/open"):
        status, body = http(server, "GET", path, token)
        assert status == 401 and json.loads(body)["message"] == "Bad credentials"
    status, _ = http(server, "POST", "/api/v3/user/repos", token, {"name": "sneaky"})
    assert status == 401
    assert http(server, "GET", f"/api/v3/repos/{ALICE}/sneaky", tokens["writer"])[0] == 404


def test_a_token_without_repo_read_sees_no_private_repository(served, tmp_path):
    server, work, tokens = served
    token = tokens["issues-only"]
    proc = git("clone", server.repo_url(ALICE, "secret", token), tmp_path / "clone", check=False)
    assert proc.returncode != 0 and "not found" in proc.stderr.lower(), proc.stderr
    assert http(server, "GET", f"/{ALICE}/secret", token)[0] == 404
    assert http(server, "GET", f"/{ALICE}/secret/raw/main/README.md", token)[0] == 404
    assert http(server, "GET", f"/api/v3/repos/{ALICE}/secret", token)[0] == 404
    # It still is alice's token: it may read what everyone may, and say who it is.
    assert http(server, "GET", f"/api/v3/repos/{ALICE}/open", token)[0] == 200
    assert json.loads(http(server, "GET", "/api/v3/user", token)[1])["login"] == ALICE


def test_a_token_without_repo_write_cannot_push_or_create(served, tmp_path):
    server, work, tokens = served
    token = tokens["read-only"]
    git("clone", "-q", server.repo_url(ALICE, "secret", token), tmp_path / "clone")  # reading is allowed
    assert http(server, "GET", f"/{ALICE}/secret", token)[0] == 200
    before = heads(server, "secret")
    proc = try_push(server, work, "secret", token, tmp_path)
    assert proc.returncode != 0 and "403" in proc.stderr, proc.stderr
    assert heads(server, "secret") == before
    # Nor can it create a repository, by push or by API.
    proc = git("-C", work, "push", server.repo_url(ALICE, "brand-new", token), "main", check=False)
    assert proc.returncode != 0
    status, body = http(server, "POST", "/api/v3/user/repos", token, {"name": "brand-new"})
    assert status == 403 and "repo:write" in json.loads(body)["message"]
    assert http(server, "GET", f"/api/v3/repos/{ALICE}/brand-new", tokens["writer"])[0] == 404
    permissions = json.loads(http(server, "GET", f"/api/v3/repos/{ALICE}/secret", token)[1])["permissions"]
    assert permissions == {"admin": False, "push": False, "pull": True}


def test_the_writer_token_does_all_of_it(served, tmp_path):
    server, work, tokens = served
    token = tokens["writer"]
    assert try_push(server, work, "open", token, tmp_path).returncode == 0
    status, body = http(server, "POST", "/api/v3/user/repos", token, {"name": "made-by-api", "private": True})
    assert status == 201 and json.loads(body)["private"] is True
    assert http(server, "GET", f"/{ALICE}/made-by-api", token)[0] == 200
    assert http(server, "GET", f"/{ALICE}/made-by-api")[0] == 404
