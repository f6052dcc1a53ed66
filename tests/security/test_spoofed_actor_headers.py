"""Attack: a client names itself in X-Forge-Actor-* to become alice.

Only a client in FORGE_TRUSTED_PROXIES may name the actor (CONTRACT.md, "Actor contract"). From any
other address the headers are dropped, however they are spelt: any letter case, with underscores
instead of dashes (WSGI maps both `X-Forge-Actor-Name` and `X_Forge_Actor_Name` to the same
HTTP_X_FORGE_ACTOR_NAME key — gunicorn must drop the underscore spelling, or a client could slip a
name past a proxy that strips only the dashed one), repeated, and alongside another user's token.
Pages, the API and git are all checked on a live gunicorn, with raw requests that keep the header
names exactly as written. tests/accounts/test_auth_proxy_live.py has the proxy's own happy paths.
"""
import pytest

from tests.security.conftest import commit_files, provision, raw_request
from tests.support import servers
from tests.support.gitcli import git

PROXY = "127.0.0.2"  # a trusted proxy's address (all of 127/8 is loopback)

SPELLINGS = {
    "canonical": "X-Forge-Actor-{}",
    "lower": "x-forge-actor-{}",
    "upper": "X-FORGE-ACTOR-{}",
    "underscores": "X_Forge_Actor_{}",
    "mixed": "X-Forge_Actor-{}",
}


def spoof(spelling, name="alice"):
    pattern = SPELLINGS[spelling]
    return [(pattern.format("Kind"), "user"), (pattern.format("Name"), name), (pattern.format("Id"), "1"),
            (pattern.format("Scopes"), "repo:read repo:write admin"), (pattern.format("Owner"), name)]


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("spoof") / "data",
                                  extra_env={"FORGE_TRUSTED_PROXIES": PROXY})
    try:
        tokens = provision(server, {"alice": "repo:read,repo:write", "bob": "repo:read,repo:write"},
                           [("alice/secret", True)])
        alice = tokens["alice"]
        work = commit_files(tmp_path_factory.mktemp("spoof-work") / "w", {"SECRET.md": "the crown jewels\n"})
        git("-C", work, "push", "-q", server.repo_url("alice", "secret", alice), "main")
        server.bob = tokens["bob"]
        yield server
    finally:
        server.stop()


def get(server, target, headers, source=None):
    return raw_request(server.url, "GET", target, headers, source=source)


def bearer(token):
    return [("Authorization", f"token {token}")]


def test_the_baseline_the_trusted_proxy_is_believed(forge):
    # So that the refusals below are refusals of the spoofer, not of a request that could never work.
    assert get(forge, "/alice/secret", spoof("canonical"), source=PROXY).status == 200
    assert get(forge, "/alice/secret", spoof("lower"), source=PROXY).status == 200  # header names ignore case
    answer = get(forge, "/api/v3/user", spoof("canonical"), source=PROXY)
    assert answer.status == 200 and '"login":"alice"' in answer.text.replace(" ", "")


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_an_anonymous_spoofer_stays_anonymous(forge, spelling):
    headers = spoof(spelling)
    assert get(forge, "/alice/secret", headers).status == 404
    assert get(forge, "/alice/secret/blob/main/SECRET.md", headers).status == 404
    assert get(forge, "/api/v3/repos/alice/secret", headers).status == 404
    assert get(forge, "/api/v3/user", headers).status == 401
    assert get(forge, "/alice/secret.git/info/refs?service=git-upload-pack", headers).status == 401
    # Account pages: the spoofer is sent to sign in, never shown alice's tokens.
    assert get(forge, "/settings/tokens", headers).status == 302


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_spoofer_with_its_own_token_stays_itself(forge, spelling):
    headers = spoof(spelling) + bearer(forge.bob)
    answer = get(forge, "/api/v3/user", headers)
    assert answer.status == 200 and '"login":"bob"' in answer.text.replace(" ", "")
    assert get(forge, "/alice/secret", headers).status == 404
    assert get(forge, "/api/v3/repos/alice/secret", headers).status == 404
    assert get(forge, "/api/v3/repos/alice/secret/contents/SECRET.md", headers).status == 404
    git_answer = get(forge, "/alice/secret.git/info/refs?service=git-receive-pack", headers)
    assert git_answer.status in (403, 404) and b"refs/heads/main" not in git_answer.body


def test_repeated_headers_name_no_one(forge):
    # From the trusted proxy: two names joined by the server ("bob,alice") are nobody, not either one.
    twice = [("X-Forge-Actor-Kind", "user"), ("X-Forge-Actor-Name", "bob"), ("X-Forge-Actor-Name", "alice")]
    assert get(forge, "/alice/secret", twice, source=PROXY).status == 404
    answer = get(forge, "/api/v3/user", twice, source=PROXY)
    assert answer.status == 401, answer.text
    # From a client: repeated or not, dropped.
    assert get(forge, "/alice/secret", twice + spoof("canonical")).status == 404


def test_an_underscore_spelling_cannot_ride_along_a_trusted_proxy(forge):
    """A proxy that strips the dashed X-Forge-Actor-* its client sent but passes other headers on: the
    client's underscore spelling reaches Forge from the proxy's address. gunicorn drops header names
    with underscores, so the client cannot add or override a name that the proxy did not set."""
    # The proxy said "user" and nothing else; the client tried to add the name.
    smuggled = [("X-Forge-Actor-Kind", "user"), ("X_Forge_Actor_Name", "alice")]
    assert get(forge, "/alice/secret", smuggled, source=PROXY).status == 404
    assert get(forge, "/api/v3/user", smuggled, source=PROXY).status == 401
    # The proxy named bob; the client's underscore spelling does not join or replace it.
    override = [("X-Forge-Actor-Kind", "user"), ("X-Forge-Actor-Name", "bob"), ("X_Forge_Actor_Name", "alice")]
    answer = get(forge, "/api/v3/user", override, source=PROXY)
    assert answer.status == 200 and '"login":"bob"' in answer.text.replace(" ", "")
    assert get(forge, "/alice/secret", override, source=PROXY).status == 404


def test_real_git_with_spoofed_headers_and_another_users_token(forge, tmp_path):
    extra = []
    for name, value in spoof("canonical") + spoof("underscores"):
        extra += ["-c", f"http.extraHeader={name}: {value}"]
    url = forge.repo_url("alice", "secret", forge.bob)
    proc = git(*extra, "clone", url, tmp_path / "clone", check=False)
    assert proc.returncode != 0 and not (tmp_path / "clone" / "SECRET.md").exists()
    work = commit_files(tmp_path / "work", {"pwned.txt": "bob was here\n"})
    proc = git(*extra, "-C", work, "push", url, "main:refs/heads/pwned", check=False)
    assert proc.returncode != 0
    # Nothing moved: alice still sees one branch.
    alice_view = get(forge, "/alice/secret/branches", spoof("canonical"), source=PROXY)
    assert alice_view.status == 200 and "pwned" not in alice_view.text
