"""The agent workflow end to end, as an agent runs it: one call (forge/changes) makes the branch,
the commit and the pull request; the pull request then merges through PyGithub; a stale `sha`
guard and a conflicting change are refused with nothing written. Checked with real git."""
import pytest

from tests.api.conftest import clone
from tests.support.gitcli import fsck, git, ls_remote, out


def refs(api_server, tokens, full_name):
    return ls_remote(api_server.repo_url(*full_name.split("/"), tokens["alice"]))


@pytest.fixture
def repo(pushed_repo):
    return pushed_repo(commits=[{"README.md": "# project\n", "src/config.py": "LEVEL = 1\nNAME = 'x'\n"}])


def propose(api, full_name, branch, changes, expected_sha=None, title=None):
    body = {"branch": branch, "message": f"{branch}: change", "changes": changes,
            "pull_request": {"title": title or f"Proposal {branch}", "body": "by an agent"}}
    if expected_sha:
        body["expected_sha"] = expected_sha
    return api.post(f"/repos/{full_name}/forge/changes", json=body)


def test_one_call_proposes_and_the_pull_request_merges(api, gh, api_server, tokens, repo, tmp_path):
    full_name, work = repo
    tip = out("-C", work, "rev-parse", "main").strip()
    answer = propose(api, full_name, "agent/level-2", [
        {"path": "src/config.py", "content": "LEVEL = 2\nNAME = 'x'\n"},
        {"path": "CHANGELOG.md", "content": "- level 2\n"},
    ], expected_sha=tip)
    assert answer.status_code == 201, answer.text
    proposal = answer.json()
    number, head = proposal["pull_request"]["number"], proposal["commit"]["sha"]
    assert refs(api_server, tokens, full_name)["refs/heads/agent/level-2"] == head

    pull = gh.get_repo(full_name).get_pull(number)       # PyGithub, the real client
    assert (pull.head.ref, pull.head.sha, pull.base.ref) == ("agent/level-2", head, "main")
    assert pull.mergeable is True
    assert sorted(f.filename for f in pull.get_files()) == ["CHANGELOG.md", "src/config.py"]
    status = pull.merge(merge_method="squash", sha=head, commit_title="Level 2")
    assert status.merged is True
    assert gh.get_repo(full_name).get_pull(number).is_merged()

    dest = clone(api_server, tokens["alice"], full_name, tmp_path / "after")
    assert (dest / "src/config.py").read_text() == "LEVEL = 2\nNAME = 'x'\n"
    assert (dest / "CHANGELOG.md").read_text() == "- level 2\n"
    assert out("-C", dest, "rev-parse", "HEAD^").strip() == tip            # squash: one parent
    assert out("-C", dest, "log", "-1", "--format=%s").strip() == "Level 2"
    fsck(dest)


def test_a_stale_sha_guard_writes_nothing(api, gh, api_server, tokens, repo):
    full_name, work = repo
    old_tip = out("-C", work, "rev-parse", "main").strip()
    moved = propose(api, full_name, "agent/first", [{"path": "a.txt", "content": "a\n"}])
    assert moved.status_code == 201
    gh.get_repo(full_name).get_pull(moved.json()["pull_request"]["number"]).merge(merge_method="merge")
    before = refs(api_server, tokens, full_name)
    assert before["refs/heads/main"] != old_tip
    pulls_before = gh.get_repo(full_name).get_pulls(state="all").totalCount

    stale = propose(api, full_name, "agent/stale", [{"path": "b.txt", "content": "b\n"}], expected_sha=old_tip)
    assert stale.status_code == 409, stale.text
    assert refs(api_server, tokens, full_name) == before                     # no branch
    assert gh.get_repo(full_name).get_pulls(state="all").totalCount == pulls_before   # no pull request

    # The merge's own sha guard: a head that moved since the agent looked is not merged.
    second = propose(api, full_name, "agent/second", [{"path": "c.txt", "content": "c\n"}])
    pull = gh.get_repo(full_name).get_pull(second.json()["pull_request"]["number"])
    answer = api.put(f"/repos/{full_name}/pulls/{pull.number}/merge", json={"sha": old_tip})
    assert answer.status_code == 409, answer.text
    assert refs(api_server, tokens, full_name)["refs/heads/main"] == before["refs/heads/main"]
    assert not pull.is_merged()


def test_a_conflicting_change_is_refused_with_nothing_written(api, gh, api_server, tokens, repo, tmp_path):
    full_name, _ = repo
    ours = propose(api, full_name, "agent/ours", [{"path": "src/config.py", "content": "LEVEL = 3\nNAME = 'x'\n"}])
    theirs = propose(api, full_name, "agent/theirs", [{"path": "src/config.py", "content": "LEVEL = 4\nNAME = 'x'\n"}])
    assert ours.status_code == theirs.status_code == 201
    repo_api = gh.get_repo(full_name)
    repo_api.get_pull(ours.json()["pull_request"]["number"]).merge(merge_method="rebase")
    main_after_first = refs(api_server, tokens, full_name)["refs/heads/main"]

    conflicting = repo_api.get_pull(theirs.json()["pull_request"]["number"])
    assert conflicting.mergeable is False
    answer = api.put(f"/repos/{full_name}/pulls/{conflicting.number}/merge",
                     json={"merge_method": "merge", "sha": theirs.json()["commit"]["sha"]})
    assert answer.status_code == 405, answer.text
    assert refs(api_server, tokens, full_name)["refs/heads/main"] == main_after_first

    # A change that cannot apply to the base (a file that is not there) writes nothing either.
    before = refs(api_server, tokens, full_name)
    bad = propose(api, full_name, "agent/bad", [{"path": "src/config.py", "content": "LEVEL = 5\n"},
                                                {"path": "missing.txt", "delete": True}])
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "changes[1].path"
    assert "missing.txt" in bad.json()["errors"][0]["message"]
    assert refs(api_server, tokens, full_name) == before
    dest = clone(api_server, tokens["alice"], full_name, tmp_path / "check")
    assert (dest / "src/config.py").read_text() == "LEVEL = 3\nNAME = 'x'\n"
    git("-C", dest, "fsck", "--strict")
