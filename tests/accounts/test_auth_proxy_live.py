"""Auth proxy mode against a live Forge: with FORGE_TRUSTED_PROXIES naming the proxy's address, a
proxy in front may name the actor in X-Forge-Actor-*; the same headers from any other address are
dropped. Real git and real HTTP through a real (test) proxy, tests/support/auth_proxy.py."""
import base64
import http.client
import urllib.request

import pytest

from tests.support import servers
from tests.support.auth_proxy import AuthProxy
from tests.support.gitcli import git

PROXY_ADDRESS = "127.0.0.2"  # all of 127/8 is loopback on Linux
ALICE_AS_USER = {"Kind": "user"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("proxied-forge"),
                                  extra_env={"FORGE_TRUSTED_PROXIES": PROXY_ADDRESS})
    proxy = AuthProxy(server.url, source=PROXY_ADDRESS, users={
        "alice": ("alice-sso", ALICE_AS_USER),
        "alice-bot": ("bot-sso", {"Kind": "agent", "Name": "alice", "Scopes": "repo:read"}),
        "ghost": ("ghost-sso", {"Kind": "user", "Name": "nobody-here"}),
    }).start()
    try:
        server.createrepo("alice/secret", private=True)
        yield server, proxy
    finally:
        proxy.stop()
        server.stop()


def proxied(proxy, who, password, name="secret"):
    return f"http://{who}:{password}@127.0.0.1:{proxy.port}/alice/{name}.git"


def get(url, headers=None, source=None):
    parts = urllib.request.urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30,
                                            source_address=(source, 0) if source else None)
    connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


def test_the_proxy_names_a_user_who_clones_and_pushes_without_a_token(setup, tmp_path):
    server, proxy = setup
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text("# through the proxy\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "Via the proxy")
    git("-C", work, "push", "-q", proxied(proxy, "alice", "alice-sso"), "main")
    clone = tmp_path / "clone"
    git("clone", "-q", proxied(proxy, "alice", "alice-sso"), clone)
    assert (clone / "README.md").read_text() == "# through the proxy\n"
    # The web too: the page is alice's, signed in by the proxy's word alone.
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-sso").decode()}
    status, html = get(f"{proxy.url}/alice/secret", auth)
    assert status == 200 and 'class="signed-in" href="/alice"' in html


def test_an_agent_named_by_the_proxy_is_limited_to_its_scopes(setup, tmp_path):
    server, proxy = setup
    clone = tmp_path / "clone"
    git("clone", "-q", proxied(proxy, "alice-bot", "bot-sso"), clone)
    (clone / "bot.txt").write_text("a read-only agent\n")
    git("-C", clone, "add", "-A")
    git("-C", clone, "commit", "-q", "-m", "Should not land")
    proc = git("-C", clone, "push", "origin", "main", check=False)
    assert proc.returncode != 0 and "403" in proc.stderr, proc.stderr


def test_a_user_the_proxy_names_but_forge_does_not_know_is_anonymous(setup, tmp_path):
    server, proxy = setup
    proc = git("clone", proxied(proxy, "ghost", "ghost-sso"), tmp_path / "clone", check=False)
    assert proc.returncode != 0


SPOOFED = {"X-Forge-Actor-Kind": "user", "X-Forge-Actor-Name": "alice", "X-Forge-Actor-Id": "1",
           "X-Forge-Actor-Scopes": "repo:read repo:write admin"}


def test_the_same_headers_from_anyone_else_are_dropped(setup, tmp_path):
    server, proxy = setup
    # From 127.0.0.1, which is not in FORGE_TRUSTED_PROXIES: anonymous, so the private repository is hidden.
    status, html = get(f"{server.url}/alice/secret", SPOOFED)
    assert status == 404
    status, _ = get(f"{server.url}/alice/secret.git/info/refs?service=git-upload-pack", SPOOFED)
    assert status == 401
    headers = []
    for name, value in SPOOFED.items():
        headers += ["-c", f"http.extraHeader={name}: {value}"]
    proc = git(*headers, "clone", f"{server.url}/alice/secret.git", tmp_path / "clone", check=False)
    assert proc.returncode != 0
    # From the proxy's address they are honoured.
    status, html = get(f"{server.url}/alice/secret", SPOOFED, source=PROXY_ADDRESS)
    assert status == 200


def test_a_client_cannot_smuggle_its_own_actor_headers_through_the_proxy(setup):
    server, proxy = setup
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice-bot:bot-sso").decode()}
    # The proxy replaces what the client sent: the bot stays a read-only agent, not a user.
    status, html = get(f"{proxy.url}/settings/tokens", {**auth, **SPOOFED})
    assert status == 403
