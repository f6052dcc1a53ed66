"""Who may read and push over git's smart HTTP: anonymous users, the owner's tokens (HTTP Basic and
Bearer), read-only tokens, other users' tokens, expired and wrong tokens, and clients that send the
trusted `X-Forge-Actor-*` headers themselves."""
import pytest

from tests.support import wire
from tests.support.gitcli import commit_file, fsck, git, ls_remote, rev

SPOOFED = {
    "X-Forge-Actor-Kind": "user",
    "X-Forge-Actor-Name": "alice",
    "X-Forge-Actor-Id": "1",
    "X-Forge-Actor-Scopes": "repo:write",
    "X-Forge-Actor-Owner": "alice",
}
ASKS_FOR_CREDENTIALS = ("could not read Username", "Authentication failed", "401")


def info_refs(repo, service="git-upload-pack", token=None, headers=None):
    return wire.http_request(repo.server.url, "GET", f"/{repo.owner}/{repo.name}.git/info/refs?service={service}",
                             headers=headers, token=token)


def a_good_push_body(main):
    blob = b"pushed by someone who should not\n"
    tree = wire.tree_body([("100644", "intruder.txt", wire.object_id("blob", blob))])
    commit = wire.commit_body(wire.object_id("tree", tree), [main])
    pack = wire.pack([("blob", blob), ("tree", tree), ("commit", commit)])
    return wire.receive_pack_request([(wire.ZERO, wire.object_id("commit", commit), "refs/heads/intruder")], pack)


@pytest.fixture
def public_repo(new_repo, small_source):
    return new_repo(seed=small_source)


@pytest.fixture
def private_repo(new_repo, small_source):
    return new_repo(seed=small_source, private=True)


def test_anonymous_clone_of_public_repo(public_repo, small_source, proto, tmp_path):
    clone = str(tmp_path / "clone")
    git("clone", "-q", public_repo.anon_url, clone, proto=proto)
    fsck(clone)
    assert rev(clone, "HEAD") == rev(small_source, "main")


@pytest.mark.forge_only("access control")
def test_anonymous_clone_of_private_repo_asks_for_credentials(private_repo, proto, tmp_path):
    proc = git("clone", private_repo.anon_url, str(tmp_path / "clone"), proto=proto, check=False)
    assert proc.returncode != 0
    assert any(s in proc.stderr for s in ASKS_FOR_CREDENTIALS), proc.stderr


@pytest.mark.forge_only("access control")
def test_private_info_refs_without_credentials_is_401_with_basic_challenge(private_repo):
    for service in ("git-upload-pack", "git-receive-pack"):
        resp = info_refs(private_repo, service)
        assert resp.status == 401, resp
        assert resp.headers.get("WWW-Authenticate", "").lower().startswith("basic"), resp.headers
        assert b"refs/heads/main" not in resp.body


@pytest.mark.forge_only("access control")
def test_owner_token_reads_private_repo_with_basic_and_bearer(private_repo, small_source, tmp_path):
    clone = str(tmp_path / "basic")
    git("clone", "-q", private_repo.url, clone)
    fsck(clone)
    assert rev(clone, "HEAD") == rev(small_source, "main")

    bearer = ["-c", f"http.extraHeader=Authorization: Bearer {private_repo.token}"]
    clone2 = str(tmp_path / "bearer")
    git(*bearer, "clone", "-q", private_repo.anon_url, clone2)
    assert rev(clone2, "HEAD") == rev(small_source, "main")
    tip = commit_file(clone2, "bearer.txt", "pushed with a bearer token\n")
    git(*bearer, "-C", clone2, "push", "-q", "origin", "main")
    assert private_repo.ls_remote()["refs/heads/main"] == tip


@pytest.mark.forge_only("access control")
def test_other_users_token_on_private_repo_is_not_found(private_repo, bob, proto, tmp_path):
    proc = git("clone", private_repo.url_with(bob.token), str(tmp_path / "clone"), proto=proto, check=False)
    assert proc.returncode != 0
    assert "not found" in proc.stderr, proc.stderr
    resp = info_refs(private_repo, token=bob.token)
    assert resp.status == 404, resp
    before = private_repo.snapshot()
    resp = wire.post_receive_pack(private_repo.server.url, private_repo.owner, private_repo.name,
                                  a_good_push_body(before["refs"]["refs/heads/main"]), token=bob.token)
    assert resp.status == 404, resp
    assert private_repo.snapshot() == before


@pytest.mark.forge_only("access control")
def test_read_only_token_cannot_push(forge_server, public_repo, private_repo, tmp_path):
    read_only = forge_server.token("alice", scopes="repo:read")
    for repo in (public_repo, private_repo):
        work = str(tmp_path / repo.name)
        git("clone", "-q", repo.url_with(read_only), work)  # reading is allowed
        before = repo.snapshot()
        commit_file(work, "nope.txt", "read-only tokens do not push\n")
        proc = git("-C", work, "push", "origin", "main", check=False)
        assert proc.returncode != 0, proc.stderr
        assert repo.snapshot() == before


@pytest.mark.forge_only("access control")
def test_other_user_cannot_push_to_public_repo(public_repo, bob, tmp_path):
    work = str(tmp_path / "work")
    git("clone", "-q", public_repo.url_with(bob.token), work)  # reading a public repository is fine
    before = public_repo.snapshot()
    commit_file(work, "bob.txt", "bob does not own this\n")
    proc = git("-C", work, "push", "origin", "main", "main:refs/heads/bobs-branch", check=False)
    assert proc.returncode != 0, proc.stderr
    assert public_repo.snapshot() == before


@pytest.mark.forge_only("access control")
def test_spoofed_actor_headers_do_not_authenticate(public_repo, private_repo):
    for repo in (public_repo, private_repo):
        before = repo.snapshot()
        resp = wire.post_receive_pack(repo.server.url, repo.owner, repo.name,
                                      a_good_push_body(before["refs"]["refs/heads/main"]), headers=SPOOFED)
        assert resp.status in (401, 403, 404), resp
        resp = info_refs(repo, "git-receive-pack", headers=SPOOFED)
        assert resp.status in (401, 403, 404), resp
        assert repo.snapshot() == before
    resp = info_refs(private_repo, "git-upload-pack", headers=SPOOFED)
    assert resp.status in (401, 404), resp
    assert b"refs/heads/main" not in resp.body


@pytest.mark.forge_only("access control")
def test_spoofed_actor_headers_from_git_cli_do_not_push(public_repo, tmp_path):
    work = str(tmp_path / "work")
    git("clone", "-q", public_repo.anon_url, work)
    before = public_repo.snapshot()
    commit_file(work, "spoof.txt", "pretending to be alice\n")
    headers = []
    for name, value in SPOOFED.items():
        headers += ["-c", f"http.extraHeader={name}: {value}"]
    proc = git(*headers, "-C", work, "push", "origin", "main", check=False)
    assert proc.returncode != 0, proc.stderr
    assert public_repo.snapshot() == before


@pytest.mark.forge_only("access control")
def test_expired_token_is_401(forge_server, private_repo, tmp_path):
    expired = forge_server.token("alice", expires_days=1)
    # Let the day pass: move the expiry into the past, as the clock would.
    forge_server.manage("shell", "-c", (
        "from datetime import timedelta; from django.utils import timezone; "
        "from accounts.models import AgentToken; from accounts.tokens import hash_token; "
        f"AgentToken.objects.filter(token_hash=hash_token({expired!r}))"
        ".update(expires_at=timezone.now() - timedelta(minutes=1))"))
    resp = info_refs(private_repo, token=expired)
    assert resp.status == 401, resp
    proc = git("clone", private_repo.url_with(expired), str(tmp_path / "clone"), check=False)
    assert proc.returncode != 0
    assert any(s in proc.stderr for s in ASKS_FOR_CREDENTIALS), proc.stderr


@pytest.mark.forge_only("access control")
def test_wrong_token_is_401(public_repo, private_repo, tmp_path):
    wrong = "forge_" + "x" * 43
    for repo in (private_repo, public_repo):
        resp = info_refs(repo, token=wrong)
        assert resp.status == 401, resp
        assert resp.headers.get("WWW-Authenticate", "").lower().startswith("basic"), resp.headers
    proc = git("clone", private_repo.url_with(wrong), str(tmp_path / "clone"), check=False)
    assert proc.returncode != 0
    assert any(s in proc.stderr for s in ASKS_FOR_CREDENTIALS), proc.stderr
    before = public_repo.snapshot()
    resp = wire.post_receive_pack(public_repo.server.url, public_repo.owner, public_repo.name,
                                  a_good_push_body(before["refs"]["refs/heads/main"]), token=wrong)
    assert resp.status == 401, resp
    assert public_repo.snapshot() == before
    assert ls_remote(public_repo.anon_url) == before["refs"]
