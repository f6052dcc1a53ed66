"""Repository settings seen by the real git CLI against a live Forge: a renamed repository still
clones, fetches and pushes at its old URL (OWNER/NAME and OWNER/NAME.git), and the push lands in
the renamed repository; a collaborator with write pushes with their own token, one with read can
clone a private repository but not push; after a delete nothing clones and the store is in the
trash; after a change of default branch a fresh clone checks the new one out.

Settings are changed the way an agent changes them: POSTs to the settings forms with a token that
has the admin scope (a token is not sent by browsers on their own, so no CSRF token is needed)."""
import itertools
import os

import pytest
import requests

from tests.git.conftest import REFERENCE
from tests.support import servers
from tests.support.gitcli import commit_file, git, ls_remote, rev

pytestmark = pytest.mark.forge_only("repository settings are Forge's own")

_names = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if REFERENCE:
        pytest.skip("repository settings are Forge's own")
    forge = servers.start_server(tmp_path_factory.mktemp("forge-settings"))
    yield forge
    forge.stop()


@pytest.fixture(scope="module")
def tokens(server):
    """Tokens by user (each costs two manage.py runs, so one each): alice's may also change settings."""
    return {
        "alice": server.token("alice", scopes="repo:read,repo:write,admin"),
        "bob": server.token("bob"),
        "carol": server.token("carol"),
        "dave": server.token("dave"),
    }


def change(server, tokens, repo, action, **data):
    """POST a settings form of alice/REPO as alice's admin agent; returns the response (not followed)."""
    response = requests.post(f"{server.url}/alice/{repo}/settings/{action}", data=data, allow_redirects=False,
                             headers={"Authorization": f"Bearer {tokens['alice']}"}, timeout=30)
    assert response.status_code == 302, (action, response.status_code, response.text[:500])
    return response


@pytest.fixture
def pushed(server, tokens, tmp_path):
    """alice/<new name>, made by pushing one commit on main to it, and the work tree: (name, work)."""
    name = f"repo-{next(_names)}"
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    commit_file(work, "README.md", "# hello\n", "first")
    git("-C", work, "push", "-q", server.repo_url("alice", name, tokens["alice"]), "main")
    return name, work


def clone(url, dest, check=True):
    return git("clone", "-q", url, dest, check=check)


def test_a_renamed_repository_clones_fetches_and_pushes_at_its_old_url(server, tokens, pushed, tmp_path):
    old, work = pushed
    store = server.store_db("alice", old)
    change(server, tokens, old, "rename", name=f"{old}-new")
    new = f"{old}-new"
    assert server.store_db("alice", new) == store  # renaming moved no bytes

    for suffix in (".git", ""):
        for proto in ("0", "2"):
            dest = tmp_path / f"clone{suffix or '-bare-url'}-v{proto}"
            git("clone", "-q", server.repo_url("alice", old, suffix=suffix), dest, proto=proto)
            assert rev(dest, "HEAD") == rev(work, "main")

    # A push at each form of the old URL lands in the renamed repository.
    for n, suffix in enumerate((".git", "")):
        tip = commit_file(work, f"file-{n}.txt", f"pushed at the old URL{suffix}\n")
        git("-C", work, "push", "-q", server.repo_url("alice", old, tokens["alice"], suffix=suffix), "main")
        assert ls_remote(server.repo_url("alice", new))["refs/heads/main"] == tip
    for proto in ("0", "2"):
        fetched = tmp_path / f"clone.git-v{proto}"
        git("-C", fetched, "fetch", "-q", "origin", proto=proto)
        assert rev(fetched, "origin/main") == rev(work, "main")

    # Web pages under the old name answer 301 to the new one.
    response = requests.get(f"{server.url}/alice/{old}/blob/main/README.md?plain=1", allow_redirects=False, timeout=30)
    assert response.status_code == 301
    assert response.headers["Location"] == f"/alice/{new}/blob/main/README.md?plain=1"


def test_a_name_taken_over_by_a_new_repository_serves_the_new_one(server, tokens, pushed, tmp_path):
    old, work = pushed
    change(server, tokens, old, "rename", name=f"{old}-moved")
    # Pushing to the old URL still lands in the renamed repository (no new repository is made) ...
    git("-C", work, "push", "-q", server.repo_url("alice", old, tokens["alice"]), "main:refs/heads/more")
    assert "refs/heads/more" in ls_remote(server.repo_url("alice", f"{old}-moved"))
    # ... until a new repository takes the name: then the name is the new one's.
    server.createrepo(f"alice/{old}")
    assert ls_remote(server.repo_url("alice", old)) == {}
    assert "refs/heads/more" in ls_remote(server.repo_url("alice", f"{old}-moved"))


def test_collaborators_push_with_write_and_only_read_with_read(server, tokens, pushed, tmp_path):
    name, work = pushed
    change(server, tokens, name, "general", description="shared", visibility="private", default_branch="main")
    change(server, tokens, name, "collaborators/add", username="bob", permission="write")
    change(server, tokens, name, "collaborators/add", username="carol", permission="read")

    def url(who):
        return server.repo_url("alice", name, tokens[who])

    # Carol (read) clones the private repository, and may not push to it.
    carol = tmp_path / "carol"
    clone(url("carol"), carol)
    commit_file(carol, "carol.txt", "from carol\n")
    refused = git("-C", carol, "push", "origin", "HEAD:main", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    # Bob (write) pushes with his own token.
    bob = tmp_path / "bob"
    clone(url("bob"), bob)
    tip = commit_file(bob, "bob.txt", "from bob\n")
    git("-C", bob, "push", "-q", "origin", "HEAD:main")
    assert ls_remote(url("alice"))["refs/heads/main"] == tip
    # Dave is nobody here: the repository does not exist for him.
    stranger = clone(url("dave"), tmp_path / "dave", check=False)
    assert stranger.returncode != 0 and "repository not found" in stranger.stderr

    # Carol promoted to write pushes; Bob removed can neither push nor clone.
    change(server, tokens, name, "collaborators/carol/permission", permission="write")
    git("-C", carol, "pull", "-q", "--rebase", "origin", "main")
    git("-C", carol, "push", "-q", "origin", "HEAD:main")
    change(server, tokens, name, "collaborators/bob/remove")
    commit_file(bob, "again.txt", "bob again\n")
    assert git("-C", bob, "push", "origin", "HEAD:main", check=False).returncode != 0
    assert clone(url("bob"), tmp_path / "bob-again", check=False).returncode != 0
    assert ls_remote(url("alice"))["refs/heads/main"] == rev(carol, "HEAD")


def test_after_delete_nothing_clones_and_the_store_is_in_the_trash(server, tokens, pushed, tmp_path):
    name, work = pushed
    store = server.store_db("alice", name)
    store_id = os.path.basename(store)[: -len(".sqlite3")]
    clone(server.repo_url("alice", name), tmp_path / "before")  # the store is open in a worker now
    change(server, tokens, name, "delete", confirm=f"alice/{name}")

    assert not os.path.exists(store)
    trashed = [f for f in os.listdir(os.path.join(server.data_dir, "trash")) if f.startswith(store_id + "-")]
    assert sorted(f.rsplit(".", 1)[1] for f in trashed) == ["json", "sqlite3"]
    for url in (server.repo_url("alice", name), server.repo_url("alice", name, tokens["alice"]),
                server.repo_url("alice", name, tokens["alice"], suffix="")):
        assert clone(url, tmp_path / "after", check=False).returncode != 0
    assert requests.get(f"{server.url}/alice/{name}", timeout=30).status_code == 404


def test_a_fresh_clone_checks_out_the_new_default_branch(server, tokens, pushed, tmp_path):
    name, work = pushed
    git("-C", work, "checkout", "-q", "-b", "develop")
    tip = commit_file(work, "dev.txt", "develop\n")
    git("-C", work, "push", "-q", server.repo_url("alice", name, tokens["alice"]), "develop")
    change(server, tokens, name, "general", description="", visibility="public", default_branch="develop")

    symref = git("ls-remote", "--symref", server.repo_url("alice", name), "HEAD").stdout
    assert symref.startswith("ref: refs/heads/develop\tHEAD")
    dest = tmp_path / "fresh"
    clone(server.repo_url("alice", name), dest)
    assert git("-C", dest, "symbolic-ref", "HEAD").stdout.strip() == "refs/heads/develop"
    assert rev(dest, "HEAD") == tip
