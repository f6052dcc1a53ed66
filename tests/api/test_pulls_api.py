"""Pull requests through the GitHub-compatible API, driven by PyGithub itself; merges are checked by
cloning with the real git and reading the history it sees, refusals by `git ls-remote` (nothing
moved)."""
import github
import pytest

from tests.api.conftest import clone, make_client
from tests.support.gitcli import git, out


def ls_remote(api_server, tokens, full_name):
    owner, name = full_name.split("/")
    text = out("ls-remote", api_server.repo_url(owner, name, tokens["alice"]))
    return dict(reversed(line.split("\t")) for line in text.splitlines())


def push_commit(api_server, tokens, work, full_name, branch, files, message):
    owner, name = full_name.split("/")
    git("-C", str(work), "checkout", "-q", branch)
    for path, text in files.items():
        (work / path).write_text(text)
    git("-C", str(work), "add", "-A")
    git("-C", str(work), "commit", "-q", "-m", message)
    git("-C", str(work), "push", "-q", api_server.repo_url(owner, name, tokens["alice"]), branch)
    git("-C", str(work), "checkout", "-q", "main")
    return out("-C", str(work), "rev-parse", branch).strip()


def rev(work, *args):
    return out("-C", str(work), *args).strip()


def test_open_read_list_and_edit(gh, api, pushed_repo):
    full_name, work = pushed_repo(
        commits=[{"README.md": "one\ntwo\nthree\n"}],
        branches={"feature": [{"a.txt": "alpha\n"}, {"README.md": "one\n2\nthree\nfour\n"}], "same": []})
    repo = gh.get_repo(full_name)
    pull = repo.create_pull(title="Add a", body="Please merge", base="main", head="feature")
    assert pull.title == "Add a" and pull.body == "Please merge" and pull.state == "open"
    assert pull.head.ref == "feature" and pull.head.sha == rev(work, "rev-parse", "feature")
    assert pull.head.label == "alice:feature" and pull.head.repo.full_name == full_name
    assert pull.base.ref == "main" and pull.base.sha == rev(work, "rev-parse", "main")
    assert pull.user.login == "alice" and pull.merged is False and pull.draft is False
    assert pull.mergeable is True and pull.mergeable_state == "clean"
    assert pull.html_url.endswith(f"/{full_name}/pulls/{pull.number}")
    # the size of the change, as git counts it between the merge base and the head
    numstat = [line.split("\t") for line in rev(work, "diff", "--numstat", "main...feature").splitlines()]
    assert pull.commits == 2
    assert pull.changed_files == len(numstat)
    assert pull.additions == sum(int(a) for a, _, _ in numstat)
    assert pull.deletions == sum(int(d) for _, d, _ in numstat)

    # commits oldest first, files with their counts
    assert [c.sha for c in pull.get_commits()] == rev(work, "rev-list", "--reverse", "main..feature").split()
    files = {f.filename: (f.additions, f.deletions, f.status) for f in pull.get_files()}
    assert files == {path: (int(a), int(d), "added" if path == "a.txt" else "modified") for a, d, path in numstat}

    # lists: by state, base and owner:branch; the issue list shows it with `pull_request`
    assert [p.number for p in repo.get_pulls(state="open", base="main", head="alice:feature")] == [pull.number]
    assert list(repo.get_pulls(head="alice:same")) == []
    assert list(repo.get_pulls(head="bob:feature")) == []
    issue = repo.get_issue(pull.number)
    assert issue.pull_request is not None and issue.pull_request.html_url == pull.html_url
    assert pull.number in {i.number for i in repo.get_issues()}

    pull.edit(title="Add a and four", body="Updated")
    again = repo.get_pull(pull.number)
    assert (again.title, again.body) == ("Add a and four", "Updated")
    pull.edit(state="closed")
    assert repo.get_pull(pull.number).state == "closed"
    assert [p.number for p in repo.get_pulls(state="closed")] == [pull.number]
    assert repo.get_pull(pull.number).is_merged() is False
    pull.edit(state="open")
    assert repo.get_pull(pull.number).mergeable is True

    # GitHub's refusals when opening
    for head, fragment in (("no-such-branch", "head"), ("same", "No commits between main and same"),
                           ("feature", "A pull request already exists for alice:feature.")):
        answer = api.post(f"/repos/{full_name}/pulls", json={"title": "x", "head": head, "base": "main"})
        assert answer.status_code == 422, head
        assert fragment in str(answer.json()["errors"])
    answer = api.post(f"/repos/{full_name}/pulls", json={"title": "x", "head": "feature", "base": "nope"})
    assert answer.status_code == 422
    assert len(list(repo.get_pulls(state="all"))) == 1


def test_merge_squash_and_rebase(gh, api_server, tokens, pushed_repo, tmp_path):
    full_name, work = pushed_repo(
        commits=[{"README.md": "hello\n"}],
        branches={"m": [{"m1.txt": "m1\n"}, {"m2.txt": "m2\n"}],
                  "s": [{"s1.txt": "s1\n"}, {"s2.txt": "s2\n"}],
                  "r": [{"r1.txt": "r1\n"}, {"r2.txt": "r2\n"}]})
    push_commit(api_server, tokens, work, full_name, "main", {"main.txt": "moved on\n"}, "main moves on")
    repo = gh.get_repo(full_name)
    pulls = {b: repo.create_pull(title=f"Branch {b}", body="", base="main", head=b) for b in "msr"}
    for branch, method in (("m", "merge"), ("s", "squash"), ("r", "rebase")):
        pull = pulls[branch]
        before = ls_remote(api_server, tokens, full_name)["refs/heads/main"]
        status = pull.merge(merge_method=method, sha=pull.head.sha)
        assert status.merged is True and status.message == "Pull Request successfully merged"
        after = ls_remote(api_server, tokens, full_name)["refs/heads/main"]
        assert status.sha == after != before
        assert pull.is_merged() is True
        merged = repo.get_pull(pull.number)
        assert merged.merged and merged.state == "closed" and merged.merge_commit_sha == after
        assert merged.merged_by.login == "alice"

        checkout = clone(api_server, tokens["alice"], full_name, tmp_path / f"clone-{method}")
        head = pull.head.sha
        assert (checkout / f"{branch}1.txt").read_text() == f"{branch}1\n"
        assert (checkout / f"{branch}2.txt").read_text() == f"{branch}2\n"
        assert (checkout / "main.txt").exists()
        if method == "merge":
            assert rev(checkout, "rev-list", "--parents", "-n1", "HEAD").split() == [after, before, head]
        elif method == "squash":
            assert rev(checkout, "rev-list", "--parents", "-n1", "HEAD").split() == [after, before]
            assert git("-C", str(checkout), "merge-base", "--is-ancestor", head, "HEAD", check=False).returncode == 1
        else:
            replayed = rev(checkout, "rev-list", "--parents", f"{before}..HEAD").splitlines()
            assert len(replayed) == 2 and all(len(line.split()) == 2 for line in replayed)   # linear
            assert rev(checkout, "log", "--format=%s", "-2").splitlines() == ["r 2", "r 1"]
            assert rev(checkout, "rev-list", "--merges", f"{before}..HEAD") == ""
    # merging again is refused
    with pytest.raises(github.GithubException) as again:
        pulls["m"].merge(merge_method="merge")
    assert again.value.status == 405


def test_stale_sha_and_conflicts_are_refused(gh, api, api_server, tokens, pushed_repo):
    full_name, work = pushed_repo(
        commits=[{"README.md": "base\n"}],
        branches={"moving": [{"x.txt": "x\n"}], "clash": [{"README.md": "theirs\n"}]})
    push_commit(api_server, tokens, work, full_name, "main", {"README.md": "ours\n"}, "main changes README")
    repo = gh.get_repo(full_name)
    moving = repo.create_pull(title="Moving", body="", base="main", head="moving")
    seen = moving.head.sha
    push_commit(api_server, tokens, work, full_name, "moving", {"x.txt": "x2\n"}, "moving again")
    refs = ls_remote(api_server, tokens, full_name)
    with pytest.raises(github.GithubException) as stale:
        moving.merge(merge_method="merge", sha=seen)
    assert stale.value.status == 409
    assert stale.value.data["message"] == "Head branch was modified. Review and try the merge again."
    assert ls_remote(api_server, tokens, full_name) == refs
    assert moving.is_merged() is False

    clash = repo.create_pull(title="Clash", body="", base="main", head="clash")
    assert clash.mergeable is False and clash.mergeable_state == "dirty"
    for method in ("merge", "squash", "rebase"):
        with pytest.raises(github.GithubException) as conflict:
            clash.merge(merge_method=method, sha=clash.head.sha)
        assert conflict.value.status == 405
        assert conflict.value.data["message"] == "Pull Request is not mergeable"
    assert ls_remote(api_server, tokens, full_name) == refs

    answer = api.put(f"/repos/{full_name}/pulls/{moving.number}/merge", json={"merge_method": "octopus"})
    assert answer.status_code == 422
    moving.edit(state="closed")
    assert api.put(f"/repos/{full_name}/pulls/{moving.number}/merge", json={}).status_code == 405
    assert ls_remote(api_server, tokens, full_name) == refs


def test_permissions(api_server, tokens, gh, pushed_repo, api_as):
    full_name, _ = pushed_repo(branches={"topic": [{"t.txt": "t\n"}]})
    pull = gh.get_repo(full_name).create_pull(title="Topic", body="", base="main", head="topic")
    refs = ls_remote(api_server, tokens, full_name)
    carol = make_client(api_server, tokens["carol"])
    with pytest.raises(github.GithubException) as refused:
        carol.get_repo(full_name).create_pull(title="carol's", body="", base="main", head="topic")
    assert refused.value.status == 403
    merge = f"/repos/{full_name}/pulls/{pull.number}/merge"
    assert api_as("carol").put(merge, json={}).status_code == 403
    assert api_as("bob").put(merge, json={}).status_code == 403          # no push access
    assert api_as(None).put(merge, json={}).status_code == 401
    assert api_as("bob").patch(f"/repos/{full_name}/pulls/{pull.number}", json={"title": "x"}).status_code == 403
    assert ls_remote(api_server, tokens, full_name) == refs
    assert api_as(None).get(f"/repos/{full_name}/pulls/{pull.number}").json()["title"] == "Topic"

    private, _ = pushed_repo(branches={"topic": [{"t.txt": "t\n"}]}, private=True)
    gh.get_repo(private).create_pull(title="Secret", body="", base="main", head="topic")
    for who in ("bob", "carol", None):
        assert api_as(who).get(f"/repos/{private}/pulls").status_code == 404
        assert api_as(who).get(f"/repos/{private}/pulls/1").status_code == 404
        assert api_as(who).put(f"/repos/{private}/pulls/1/merge", json={}).status_code == 404


def test_pagination_of_pulls_and_files(gh, api, pushed_repo):
    files = {f"f{n:02}.txt": f"{n}\n" for n in range(5)}
    branches = {f"b{n}": [{f"b{n}.txt": "x\n"}] for n in range(5)}
    branches["many"] = [files]
    full_name, _ = pushed_repo(branches=branches)
    repo = gh.get_repo(full_name)
    for n in range(5):
        repo.create_pull(title=f"b{n}", body="", base="main", head=f"b{n}")
    many = repo.create_pull(title="many", body="", base="main", head="many")
    first = api.get(f"/repos/{full_name}/pulls", params={"per_page": 4})
    assert [p["title"] for p in first.json()] == ["many", "b4", "b3", "b2"]
    assert 'rel="next"' in first.headers["Link"]
    assert "mergeable" not in first.json()[0]                         # lists leave it out, as GitHub's do
    assert [p.title for p in repo.get_pulls(direction="asc")] == ["b0", "b1", "b2", "b3", "b4", "many"]
    page = api.get(f"/repos/{full_name}/pulls/{many.number}/files", params={"per_page": 2, "page": 3})
    assert [f["filename"] for f in page.json()] == ["f04.txt"]
    assert 'rel="prev"' in page.headers["Link"]
    assert sorted(f.filename for f in many.get_files()) == sorted(files)


def test_reviews(gh, gh_bob, api, pushed_repo):
    full_name, _ = pushed_repo(branches={"topic": [{"t.txt": "one\ntwo\n"}]})
    pull = gh.get_repo(full_name).create_pull(title="Topic", body="", base="main", head="topic")
    as_bob = gh_bob.get_repo(full_name).get_pull(pull.number)
    review = as_bob.create_review(body="Looks good", event="APPROVE",
                                  comments=[{"path": "t.txt", "line": 2, "side": "RIGHT", "body": "nice line"}])
    assert review.state == "APPROVED" and review.user.login == "bob" and review.commit_id == pull.head.sha
    assert review.body == "Looks good"
    as_bob.create_review(body="One more thing", event="COMMENT")
    assert [(r.user.login, r.state) for r in pull.get_reviews()] == [("bob", "APPROVED"), ("bob", "COMMENTED")]
    assert gh.get_repo(full_name).get_pull(pull.number).review_comments == 1
    # the author may not approve; a line outside the diff and a review without event are refused
    with pytest.raises(github.GithubException) as own:
        pull.create_review(body="mine", event="APPROVE")
    assert own.value.status == 422
    reviews = f"/repos/{full_name}/pulls/{pull.number}/reviews"
    outside = api.post(reviews, json={"body": "x", "event": "COMMENT",
                                      "comments": [{"path": "t.txt", "line": 99, "body": "where?"}]})
    assert outside.status_code == 422
    assert api.post(reviews, json={"body": "x"}).status_code == 422
    assert len(api.get(reviews).json()) == 2                          # nothing half-made
