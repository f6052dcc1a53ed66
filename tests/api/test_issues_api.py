"""Issues through the GitHub-compatible API, driven by PyGithub itself (as scripts use it), and raw
HTTP for statuses, headers and what PyGithub does not reach. One repository is shared by the tests
that only add issues to it."""
import github
import pytest


@pytest.fixture(scope="module")
def shared_repo(api_server, tokens, tmp_path_factory):
    """alice/issues-shared, pushed with one commit, made once for the module."""
    from tests.support.gitcli import git
    name = "issues-shared"
    api_server.createrepo(f"alice/{name}")
    work = tmp_path_factory.mktemp("issues-shared")
    git("init", "-q", "-b", "main", str(work))
    (work / "README.md").write_text("# issues\n")
    git("-C", str(work), "add", "-A")
    git("-C", str(work), "commit", "-q", "-m", "first")
    git("-C", str(work), "push", "-q", api_server.repo_url("alice", name, tokens["alice"]), "main")
    return f"alice/{name}"


def test_create_issue_with_labels_and_assignees(gh, shared_repo, api):
    repo = gh.get_repo(shared_repo)
    repo.create_label("bug", "d73a4a", "Something is wrong")
    issue = repo.create_issue("Crash on start", "It crashes.\n", labels=["bug", "urgent"], assignees=["bob"])
    assert issue.number >= 1
    assert issue.title == "Crash on start"
    assert issue.body == "It crashes.\n"
    assert issue.state == "open"
    assert issue.user.login == "alice"
    assert sorted(label.name for label in issue.labels) == ["bug", "urgent"]   # "urgent" made on the way
    assert [user.login for user in issue.assignees] == ["bob"]
    assert issue.pull_request is None
    assert issue.html_url.endswith(f"/{shared_repo}/issues/{issue.number}")
    raw = api.get(f"/repos/{shared_repo}/issues/{issue.number}").json()
    assert "pull_request" not in raw                 # GitHub leaves the member out for an issue
    bug = next(label for label in raw["labels"] if label["name"] == "bug")
    assert bug["color"] == "d73a4a" and bug["description"] == "Something is wrong" and bug["default"] is False
    assert raw["assignee"]["login"] == "bob"
    assert raw["author_association"] == "OWNER" and raw["locked"] is False and raw["comments"] == 0
    # the label's url answers (PyGithub completes objects from it)
    assert api.get(bug["url"].split("/api/v3", 1)[1]).json()["name"] == "bug"


def test_filters_and_edit(gh, shared_repo):
    repo = gh.get_repo(shared_repo)
    first = repo.create_issue("Filter one", labels=["alpha"])
    second = repo.create_issue("Filter two", labels=["alpha", "beta"])
    assert {i.number for i in repo.get_issues(labels=["alpha"])} >= {first.number, second.number}
    both = {i.number for i in repo.get_issues(labels=["alpha", "beta"])}
    assert second.number in both and first.number not in both
    assert first.number in {i.number for i in repo.get_issues(labels=[repo.get_label("alpha")])}

    first.edit(state="closed", title="Filter one (done)")
    again = repo.get_issue(first.number)
    assert again.state == "closed" and again.title == "Filter one (done)"
    assert again.closed_by.login == "alice" and again.closed_at is not None and again.state_reason == "completed"
    assert first.number not in {i.number for i in repo.get_issues(state="open")}
    assert first.number in {i.number for i in repo.get_issues(state="closed")}
    assert {first.number, second.number} <= {i.number for i in repo.get_issues(state="all")}
    assert second.number in {i.number for i in repo.get_issues(assignee="none")}
    assert second.number in {i.number for i in repo.get_issues(creator="alice")}

    first.edit(state="open", labels=["beta"], assignees=["alice"], body="new body")
    again = repo.get_issue(first.number)
    assert again.state == "open" and again.closed_at is None
    assert [label.name for label in again.labels] == ["beta"]
    assert [user.login for user in again.assignees] == ["alice"]
    assert again.body == "new body"
    assert first.number in {i.number for i in repo.get_issues(assignee="alice")}


def test_comments(gh, gh_bob, shared_repo, api, api_as):
    issue = gh.get_repo(shared_repo).create_issue("Talk about it")
    first = issue.create_comment("First!")
    gh_bob.get_repo(shared_repo).get_issue(issue.number).create_comment("Second, by bob")
    comments = list(issue.get_comments())
    assert [(c.user.login, c.body) for c in comments] == [("alice", "First!"), ("bob", "Second, by bob")]
    assert comments[1].author_association == "NONE"
    assert gh.get_repo(shared_repo).get_issue(issue.number).comments == 2
    first.edit("First, edited")
    assert api.get(f"/repos/{shared_repo}/issues/comments/{first.id}").json()["body"] == "First, edited"
    # bob may not edit or delete alice's comment; alice may delete her own
    assert api_as("bob").patch(f"/repos/{shared_repo}/issues/comments/{first.id}", json={"body": "x"}).status_code == 403
    assert api_as("bob").delete(f"/repos/{shared_repo}/issues/comments/{first.id}").status_code == 403
    first.delete()
    assert api.get(f"/repos/{shared_repo}/issues/comments/{first.id}").status_code == 404
    assert [c.body for c in issue.get_comments()] == ["Second, by bob"]
    # an empty comment is refused and nothing is added
    answer = api.post(f"/repos/{shared_repo}/issues/{issue.number}/comments", json={"body": "  "})
    assert answer.status_code == 422 and answer.json()["message"] == "Validation Failed"
    assert len(list(issue.get_comments())) == 1


def test_labels_and_assignees_of_others_are_dropped_and_their_edits_refused(gh, gh_bob, shared_repo, api_as):
    """bob (no push access) may open an issue on alice's public repository; the labels and assignees
    he gives are dropped silently as on GitHub, and he may not edit alice's issue."""
    issue = gh_bob.get_repo(shared_repo).create_issue("From bob", labels=["bug"], assignees=["bob"])
    assert issue.user.login == "bob" and issue.labels == [] and issue.assignees == []
    issue.edit(title="From bob, retitled")           # the author may edit his own
    assert issue.title == "From bob, retitled"
    mine = gh.get_repo(shared_repo).create_issue("Alice's")
    answer = api_as("bob").patch(f"/repos/{shared_repo}/issues/{mine.number}", json={"title": "hijacked"})
    assert answer.status_code == 403
    assert gh.get_repo(shared_repo).get_issue(mine.number).title == "Alice's"


def test_permissions(api_server, tokens, gh, pushed_repo, api_as):
    full_name, _ = pushed_repo()
    # carol holds only repo:read: she may read but not open issues
    from tests.api.conftest import make_client
    carol = make_client(api_server, tokens["carol"])
    with pytest.raises(github.GithubException) as refused:
        carol.get_repo(full_name).create_issue("from carol")
    assert refused.value.status == 403
    assert api_as(None).post(f"/repos/{full_name}/issues", json={"title": "anon"}).status_code == 401
    assert api_as(None).get(f"/repos/{full_name}/issues").status_code == 200
    assert gh.get_repo(full_name).get_issues(state="all").totalCount == 0   # nothing was created

    private, _ = pushed_repo(private=True)
    gh.get_repo(private).create_issue("secret")
    for who in ("bob", "carol", None):
        assert api_as(who).get(f"/repos/{private}/issues").status_code == 404
        assert api_as(who).get(f"/repos/{private}/issues/1").status_code == 404
        assert api_as(who).post(f"/repos/{private}/issues", json={"title": "x"}).status_code == 404


def test_bad_input(api, shared_repo):
    base = f"/repos/{shared_repo}/issues"
    assert api.post(base, json={"body": "no title"}).status_code == 422
    assert api.post(base, json={"title": "   "}).status_code == 422
    assert api.post(base, data="not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.get(base, params={"state": "bogus"}).status_code == 422
    assert api.get(base, params={"since": "yesterday"}).status_code == 422
    assert api.get(base, params={"since": "0001-01-01T00:00:00+17:06"}).status_code == 200
    assert api.get(base + "/999999").status_code == 404
    assert api.get(base + "/99999999999999999999").status_code in (404, 422)
    assert api.get(base + "/-1").status_code == 404
    number = api.post(base, json={"title": "keep me"}).json()["number"]
    answer = api.patch(f"{base}/{number}", json={"title": "changed", "assignees": ["no-such-user"]})
    assert answer.status_code == 422
    assert api.get(f"{base}/{number}").json()["title"] == "keep me"      # all or nothing
    assert api.patch(f"{base}/{number}", json={"state": "sideways"}).status_code == 422


def test_pagination(gh, api, pushed_repo):
    full_name, _ = pushed_repo()
    for n in range(1, 8):
        api.post(f"/repos/{full_name}/issues", json={"title": f"issue {n}"})
    first = api.get(f"/repos/{full_name}/issues", params={"per_page": 3})
    assert [i["number"] for i in first.json()] == [7, 6, 5]
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    last = api.get(f"/repos/{full_name}/issues", params={"per_page": 3, "page": 3})
    assert [i["number"] for i in last.json()] == [1]
    assert 'rel="prev"' in last.headers["Link"] and 'rel="next"' not in last.headers["Link"]
    oldest = api.get(f"/repos/{full_name}/issues", params={"per_page": 2, "direction": "asc"}).json()
    assert [i["number"] for i in oldest] == [1, 2]
    # PyGithub follows the Link header across pages
    issues = gh.get_repo(full_name).get_issues()
    gh.per_page = 30
    assert [i.number for i in issues] == [7, 6, 5, 4, 3, 2, 1]
    assert issues.totalCount == 7
