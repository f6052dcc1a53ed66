"""POST /repos/{o}/{r}/forge/changes: one call makes a branch, its commit and a pull request, all
or nothing. Checked with real git (ls-remote, clone, fsck) and the pulls API."""
import base64

import pytest
import requests

from tests.api.conftest import Api, clone
from tests.support.gitcli import fsck, git, ls_remote, out


@pytest.fixture
def repo(pushed_repo):
    return pushed_repo(commits=[{"README.md": "# hello\n", "src/app.py": "print('hi')\n", "docs/a.md": "a\n",
                                 "old.txt": "old\n"}])


def remote_refs(api_server, tokens, full_name):
    return ls_remote(api_server.repo_url(*full_name.split("/"), tokens["alice"]))


def test_one_call_makes_branch_commit_and_pull_request(api, api_server, tokens, repo, tmp_path):
    full_name, work = repo
    base_tip = out("-C", work, "rev-parse", "main").strip()
    answer = api.post(f"/repos/{full_name}/forge/changes", json={
        "branch": "agent/fix-1", "message": "Fix things\n\nIn one go.", "expected_sha": base_tip,
        "changes": [
            {"path": "README.md", "content": "# fixed\n"},
            {"path": "bin/data.bin", "content_base64": base64.b64encode(b"\0\1\2binary").decode()},
            {"path": "tool.sh", "content": "#!/bin/sh\n", "mode": "100755"},
            {"path": "docs/a.md", "delete": True},
            {"path": "new.txt", "move_from": "old.txt"},
        ],
        "pull_request": {"title": "Fix things", "body": "Made by an agent."},
    })
    assert answer.status_code == 201, answer.text
    body = answer.json()
    sha = body["commit"]["sha"]
    assert body["branch"] == {"name": "agent/fix-1", "sha": sha}
    assert body["commit"]["parents"][0]["sha"] == base_tip
    statuses = {f["filename"]: f["status"] for f in body["commit"]["files"]}
    assert statuses == {"README.md": "modified", "bin/data.bin": "added", "tool.sh": "added",
                        "docs/a.md": "removed", "new.txt": "renamed"}
    pull = body["pull_request"]
    assert pull["state"] == "open" and pull["title"] == "Fix things"
    assert pull["head"] == {"ref": "agent/fix-1", "sha": sha}
    assert pull["base"] == {"ref": "main", "sha": base_tip}
    assert pull["html_url"].endswith(f"/{full_name}/pulls/{pull['number']}")

    refs = remote_refs(api_server, tokens, full_name)
    assert refs["refs/heads/agent/fix-1"] == sha
    assert refs["refs/heads/main"] == base_tip
    dest = clone(api_server, tokens["alice"], full_name, tmp_path / "check")
    git("-C", dest, "checkout", "-q", "agent/fix-1")
    assert (dest / "README.md").read_text() == "# fixed\n"
    assert (dest / "bin/data.bin").read_bytes() == b"\0\1\2binary"
    assert (dest / "new.txt").read_text() == "old\n"
    assert not (dest / "old.txt").exists() and not (dest / "docs").exists()
    assert out("-C", dest, "ls-tree", "HEAD", "tool.sh").startswith("100755")
    assert out("-C", dest, "log", "-1", "--format=%B", "HEAD").strip() == "Fix things\n\nIn one go."
    fsck(dest)

    via_api = api.get(f"/repos/{full_name}/pulls/{pull['number']}")
    if via_api.status_code == 200:   # the pulls API (another module) answers it
        assert via_api.json()["head"]["ref"] == "agent/fix-1"
        assert via_api.json()["head"]["sha"] == sha
    page = requests.get(pull["html_url"], timeout=60)   # the public repository's page, anonymously
    assert page.status_code == 200 and "Fix things" in page.text


def test_without_a_pull_request_and_from_another_base(api, api_server, tokens, pushed_repo):
    full_name, work = pushed_repo(branches={"dev": [{"dev.txt": "dev\n"}]})
    answer = api.post(f"/repos/{full_name}/forge/changes", json={
        "base": "dev", "branch": "from-dev", "message": "on dev", "changes": [{"path": "dev.txt", "content": "2\n"}]})
    assert answer.status_code == 201, answer.text
    assert answer.json()["pull_request"] is None
    assert answer.json()["commit"]["parents"][0]["sha"] == out("-C", work, "rev-parse", "dev").strip()
    assert remote_refs(api_server, tokens, full_name)["refs/heads/from-dev"] == answer.json()["commit"]["sha"]


REFUSED = [
    ({"branch": "x1", "message": "m", "changes": [{"path": "missing.txt", "delete": True}]}, 422, "changes[0]"),
    ({"branch": "x2", "message": "m", "changes": [{"path": "a", "content": "1"},
                                                  {"path": "b", "move_from": "nowhere"}]}, 422, "changes[1]"),
    ({"branch": "x3", "message": "m", "changes": [{"path": "README.md/inside", "content": "1"}]}, 422, "changes[0]"),
    ({"branch": "x4", "message": "m", "changes": [{"path": "a", "content": "1"}, {"path": "a", "content": "2"}]},
     422, "changes[1]"),
    ({"branch": "x5", "message": "m", "changes": [{"path": "../up", "content": "1"}]}, 422, "changes[0]"),
    ({"branch": "x6", "message": "m", "changes": [{"path": "a", "content": "1", "mode": "777"}]}, 422, "changes[0]"),
    ({"branch": "x7", "message": "m", "changes": [{"path": "a", "content_base64": "%%%"}]}, 422, "changes[0]"),
    ({"branch": "main", "message": "m", "changes": [{"path": "a", "content": "1"}]}, 422, "already exists"),
    ({"branch": "bad..name", "message": "m", "changes": [{"path": "a", "content": "1"}]}, 422, "branch"),
    ({"branch": "x8", "base": "nope", "message": "m", "changes": [{"path": "a", "content": "1"}]}, 422, "base"),
    ({"branch": "x9", "message": "m", "changes": []}, 422, "changes"),
    ({"branch": "x10", "message": "m", "expected_sha": "0" * 40, "changes": [{"path": "a", "content": "1"}]},
     409, "moved"),
    ({"branch": "x11", "message": "m", "changes": [{"path": "a", "content": "1"}],
      "pull_request": {"title": "  "}}, 422, "title"),
]


def test_refusals_write_nothing(api, api_server, tokens, repo):
    full_name, _work = repo
    before = remote_refs(api_server, tokens, full_name)
    for request_body, status, words in REFUSED:
        answer = api.post(f"/repos/{full_name}/forge/changes", json=request_body)
        assert answer.status_code == status, (request_body, answer.text)
        assert words in answer.text, (request_body, answer.text)
    assert remote_refs(api_server, tokens, full_name) == before
    pulls = api.get(f"/repos/{full_name}/pulls?state=all")
    assert pulls.status_code != 200 or pulls.json() == []


def test_rights(api_server, tokens, api_as, repo):
    full_name, _ = repo
    before = remote_refs(api_server, tokens, full_name)
    change = {"branch": "r1", "message": "m", "changes": [{"path": "a", "content": "1"}]}
    assert api_as("carol").post(f"/repos/{full_name}/forge/changes", json=change).status_code == 403
    assert api_as(None).post(f"/repos/{full_name}/forge/changes", json=change).status_code == 401
    # A token that may push but not open pull requests: refused before anything is written...
    pusher = Api(api_server.url + "/api/v3", api_server.token("alice", "repo:read,repo:write"))
    asked = pusher.post(f"/repos/{full_name}/forge/changes", json={**change, "pull_request": {"title": "t"}})
    assert asked.status_code == 403 and "issues:write" in asked.json()["message"]
    assert remote_refs(api_server, tokens, full_name) == before
    # ...and the branch alone is fine.
    assert pusher.post(f"/repos/{full_name}/forge/changes", json=change).status_code == 201


def test_open_pull_request_of_a_deleted_branch_refuses_before_writing(api, api_server, tokens, repo):
    """A pull request from branch X is still open while X was deleted: making X again with a pull
    request is refused before anything is written (landing X would move that pull request)."""
    full_name, _work = repo
    first = api.post(f"/repos/{full_name}/forge/changes", json={
        "branch": "again", "message": "m", "changes": [{"path": "a.txt", "content": "1"}],
        "pull_request": {"title": "first"}})
    assert first.status_code == 201, first.text
    number = first.json()["pull_request"]["number"]
    url = api_server.repo_url(*full_name.split("/"), tokens["alice"])
    git("push", "-q", url, ":refs/heads/again")
    before = remote_refs(api_server, tokens, full_name)
    second = api.post(f"/repos/{full_name}/forge/changes", json={
        "branch": "again", "message": "m", "changes": [{"path": "b.txt", "content": "2"}],
        "pull_request": {"title": "second"}})
    assert second.status_code == 422, second.text
    assert f"already open: #{number}" in second.json()["errors"][0]["message"]
    assert remote_refs(api_server, tokens, full_name) == before
    old = api.get(f"/repos/{full_name}/pulls/{number}")
    if old.status_code == 200:
        assert old.json()["head"]["sha"] == first.json()["commit"]["sha"]


def test_pull_request_failing_after_the_branch_landed_leaves_nothing(api, api_server, tokens, repo):
    """The title is checked by the pull request itself (at most 256 characters), after the branch
    landed: the branch is deleted again, by compare-and-swap, and the answer says so."""
    full_name, _work = repo
    before = remote_refs(api_server, tokens, full_name)
    answer = api.post(f"/repos/{full_name}/forge/changes", json={
        "branch": "long-title", "message": "m", "changes": [{"path": "b.txt", "content": "2"}],
        "pull_request": {"title": "x" * 300}})
    assert answer.status_code == 422, answer.text
    message = answer.json()["errors"][0]["message"]
    assert "at most 256 characters" in message and "nothing is left" in message
    assert remote_refs(api_server, tokens, full_name) == before
    pulls = api.get(f"/repos/{full_name}/pulls?state=all")
    assert pulls.status_code != 200 or pulls.json() == []
