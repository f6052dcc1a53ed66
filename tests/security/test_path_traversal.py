"""Attack: `..`, encoded dots and slashes, NUL, backslashes and absolute paths, in repository names (git
URLs, pages, API, `createrepo`, push-to-create) and in file paths (tree/blob/raw/blame/commits pages,
the contents API, forge/changes, archive specs).

Nothing may read or write outside the repository store: every answer is a 4xx (never a 500), no
file appears anywhere but FORGE_DATA_DIR/repos (and the data directory's own database and temporary
files), and no repository is registered under a name that is not a plain name. Writes through the
API with a path git itself refuses in a tree (`../x`, `a//b`, `.git/config`, `a/./b`, ...) are
refused with nothing committed, as `git fsck` would refuse such a tree entry.
"""
import base64
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git

NAMES = ["..", ".", "...", "%2e%2e", "%2E%2E", "..%2f..%2fetc", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e",
         "a%00b", "%00", "..%5c..%5cx", "..\\..\\x", "%2fetc%2fpasswd", "x%2f..%2f..%2fy", "..%252f..",
         ".git", "x.git.git", "%c0%ae%c0%ae", "a%0ab", "a b"]
PATHS = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "docs/../../x",
         "docs/%2e%2e/%2e%2e/x", "/etc/passwd", "%2fetc%2fpasswd", "docs%00/x", "README.md%00.txt",
         "..\\..\\x", "docs\\..\\README.md", "./README.md", "docs/./README.md", "docs//README.md",
         ".git/config", "%2e%2e", "..", "~/.ssh/id_rsa", "docs/..%c0%af..%c0%afx"]
BAD_WRITE_PATHS = ["../x", "a/../x", "a//b", ".git/config", ".GIT/config", "a/.git/x", "a/./b", "./x", "/abs",
                   "a/", "", ".", "..", "x\x00y", "a/..", "docs/../../outside"]


@pytest.fixture
def world(db, make_user, tmp_path):
    from accounts.tokens import issue_token
    from repos.selectors import store_path
    from repos.services import create_repository, mark_pushed
    alice = make_user("alice")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "docs").mkdir()
    (work / "README.md").write_text("# readme\n")
    (work / "docs" / "guide.md").write_text("guide\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "first")
    repo = create_repository(alice, "proj")
    (tmp_path / "scratch").mkdir()
    with RepoStore.open(store_path(repo)) as store:
        mirror(store, tmp_path / "scratch", work)
    mark_pushed(repo, "main")
    _, token = issue_token(alice, label="t", scopes=["repo:read", "repo:write", "admin"])
    return {"repo": repo, "token": token, "auth": {"HTTP_AUTHORIZATION": f"token {token}"},
            "store": store_path(repo)}


def files_outside_the_store():
    """Every file under the data directory's parent that is not a repository store or its journal."""
    data = Path(settings.FORGE_DATA_DIR)
    found = set()
    for root, _, files in os.walk(data.parent if data.parent != Path("/tmp") else data):
        for name in files:
            path = Path(root) / name
            if Path(settings.FORGE_REPO_DIR) not in path.parents:
                found.add(str(path))
    return found


def registered_names():
    from repos.models import Repository
    return sorted(Repository.objects.values_list("name", flat=True))


def refs_of(world):
    with RepoStore.open(world["store"]) as store:
        return sorted(store.refs())


def test_repository_names_in_urls(world):
    before_files, before_names = files_outside_the_store(), registered_names()
    client, auth = Client(), world["auth"]
    for name in NAMES:
        for target in (f"/alice/{name}", f"/alice/{name}/tree/main", f"/alice/{name}/raw/main/README.md",
                       f"/alice/{name}/archive/main.zip", f"/{name}/{name}", f"/alice/{name}.git/info/refs?service=git-upload-pack",
                       f"/api/v3/repos/alice/{name}", f"/api/v3/repos/{name}/proj", f"/api/v3/repos/alice/{name}/contents/README.md"):
            for headers in ({}, auth):
                answer = client.get(target, **headers)
                assert 300 <= answer.status_code < 500, (target, answer.status_code)
        # Push-to-create: a push's first POST creates the repository (an empty command list is enough).
        for suffix in (".git/git-receive-pack", "/git-receive-pack"):
            answer = client.post(f"/alice/{name}{suffix}", b"0000", content_type="application/x-git-receive-pack-request",
                                 **auth)
            assert answer.status_code < 500, (name, answer.status_code)
        # The API's create, under its name.
        answer = client.post("/api/v3/user/repos", {"name": name.replace("%2f", "/").replace("%00", "\x00")},
                             content_type="application/json", **auth)
        assert answer.status_code in (201, 422, 400), (name, answer.status_code)
    names = registered_names()
    assert all(n not in (".", "..") and "/" not in n and "\\" not in n and "\x00" not in n and ".." not in n
               for n in names), names
    assert files_outside_the_store() == before_files
    assert set(before_names) <= set(names)


@pytest.mark.parametrize("full_name", ["alice/..", "alice/../bob", "../alice/x", "alice/x/../../y", "/etc/passwd",
                                       "alice/%2e%2e", "alice/a\\b", "alice/.git", "alice/x\x00y", "alice/.",
                                       "alice//x", "alice/" + "x" * 300])
def test_createrepo_refuses_what_is_not_a_name(world, full_name):
    before = files_outside_the_store()
    with pytest.raises((CommandError, SystemExit, ValueError)):
        call_command("createrepo", full_name)
    assert files_outside_the_store() == before
    assert registered_names() == ["proj"]


def test_file_paths_in_pages_and_the_api(world):
    client = Client()
    for path in PATHS:
        for kind in ("tree", "blob", "raw", "blame", "commits"):
            target = f"/alice/proj/{kind}/main/{path}"
            answer = client.get(target)
            assert answer.status_code < 500, (target, answer.status_code)
            if answer.status_code == 200:  # only what git's own path rules find in the tree
                assert b"root:" not in answer.content
        for target in (f"/api/v3/repos/alice/proj/contents/{path}", f"/api/v3/repos/alice/proj/contents/{path}?ref=main",
                       f"/api/v3/repos/alice/proj/forge/blame/{path}", f"/api/v3/repos/alice/proj/commits?path={path}",
                       f"/api/v3/repos/alice/proj/readme/{path}", f"/alice/proj/archive/{path}.tar.gz",
                       f"/alice/proj/archive/main:{path}.zip", f"/alice/proj/archive/{path}/main.zip"):
            answer = client.get(target, **world["auth"])
            assert answer.status_code < 500, (target, answer.status_code)
            assert b"root:" not in answer.content


def test_api_writes_refuse_paths_git_would_refuse(world):
    client, auth = Client(), world["auth"]
    before_refs, before_files = refs_of(world), files_outside_the_store()
    content = base64.b64encode(b"planted\n").decode()
    for path in BAD_WRITE_PATHS:
        put = client.put(f"/api/v3/repos/alice/proj/contents/{path}", {"message": "m", "content": content},
                         content_type="application/json", **auth)
        assert put.status_code in (400, 404, 405, 409, 422), (path, put.status_code)
        changes = client.post("/api/v3/repos/alice/proj/forge/changes",
                              {"branch": "main", "message": "m", "changes": [{"path": path, "content": "x\n"}]},
                              content_type="application/json", **auth)
        assert changes.status_code in (400, 404, 409, 422), (path, changes.status_code, changes.content[:200])
        moved = client.post("/api/v3/repos/alice/proj/forge/changes",
                            {"branch": "main", "message": "m", "changes": [{"path": "ok.txt", "move_from": path}]},
                            content_type="application/json", **auth)
        assert moved.status_code in (400, 404, 409, 422), (path, moved.status_code)
        tree = client.post("/api/v3/repos/alice/proj/git/trees",
                           {"tree": [{"path": path, "mode": "100644", "type": "blob", "content": "x"}]},
                           content_type="application/json", **auth)
        assert tree.status_code in (400, 404, 409, 422), (path, tree.status_code)
    assert refs_of(world) == before_refs, "a refused write moved a branch"
    assert files_outside_the_store() == before_files
    # A plain path still works: the refusals above are about the paths.
    ok = client.put("/api/v3/repos/alice/proj/contents/docs/new.md", {"message": "m", "content": content},
                    content_type="application/json", **auth)
    assert ok.status_code == 201, ok.content[:300]
