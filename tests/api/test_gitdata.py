"""GitHub's Git database API driven by PyGithub, checked against the real git CLI: the objects the
API makes are the ones git makes for the same input, a clone of the result passes `git fsck
--strict`, and every refusal leaves the repository exactly as it was (git ls-remote)."""
import base64

import pytest
from github import GithubException, InputGitAuthor, InputGitTreeElement

from tests.api.conftest import clone
from tests.support.gitcli import git, out


def ls_remote(api_server, tokens, full_name):
    owner, name = full_name.split("/")
    text = out("ls-remote", api_server.repo_url(owner, name, tokens["alice"]))
    return sorted(line.split("\t")[::-1] for line in text.splitlines())


def remote_refs(api_server, tokens, full_name):
    return {name: sha for name, sha in ls_remote(api_server, tokens, full_name) if name != "HEAD"}


@pytest.fixture
def repo_with_history(pushed_repo):
    return pushed_repo(
        commits=[{"README.md": "# hello\n", "src/a.py": "print(1)\n", "src/deep/x.txt": "x\n"},
                 {"src/a.py": "print(2)\n", "a.txt": "a file named like a directory\n"}],
        branches={"feature": [{"feature.txt": "feature\n"}]},
    )


def test_pygithub_builds_a_commit_that_git_would_build(gh, api_server, tokens, repo_with_history, tmp_path):
    full_name, work = repo_with_history
    repo = gh.get_repo(full_name)
    remote = remote_refs(api_server, tokens, full_name)

    assert {ref.ref: ref.object.sha for ref in repo.get_git_refs()} == remote
    main = repo.get_git_ref("heads/main")
    assert (main.ref, main.object.type, main.object.sha) == ("refs/heads/main", "commit", remote["refs/heads/main"])
    assert [ref.ref for ref in repo.get_git_matching_refs("heads/fea")] == ["refs/heads/feature"]

    blob = repo.create_git_blob("made through the API\n", "utf-8")
    assert blob.sha == out("-C", work, "hash-object", "--stdin", input="made through the API\n").strip()
    fetched = repo.get_git_blob(blob.sha)
    assert (fetched.encoding, fetched.size) == ("base64", len("made through the API\n"))
    assert base64.b64decode(fetched.content) == b"made through the API\n"

    base = repo.get_git_tree(main.object.sha)   # a commit's sha names its tree, as on GitHub
    assert base.sha == out("-C", work, "rev-parse", "main^{tree}").strip()
    elements = [
        InputGitTreeElement("docs/guide/new.txt", "100644", "blob", sha=blob.sha),
        InputGitTreeElement("src/tool.sh", "100755", "blob", content="#!/bin/sh\necho hi\n"),
        InputGitTreeElement("README.md", "100644", "blob", sha=None),
        InputGitTreeElement("src/deep/x.txt", "100644", "blob", sha=None),   # empties src/deep: it goes
    ]
    tree = repo.create_git_tree(elements, base)

    # The same edit made with git itself.
    (work / "docs/guide").mkdir(parents=True)
    (work / "docs/guide/new.txt").write_text("made through the API\n")
    (work / "src/tool.sh").write_text("#!/bin/sh\necho hi\n")
    git("-C", work, "rm", "-q", "README.md", "src/deep/x.txt")
    git("-C", work, "add", "docs/guide/new.txt", "src/tool.sh")
    git("-C", work, "update-index", "--chmod=+x", "src/tool.sh")
    assert tree.sha == out("-C", work, "write-tree").strip()

    listed = repo.get_git_tree(tree.sha, recursive=True)
    expected = [line.split("\t")[0].split() + [line.split("\t", 1)[1]]
                for line in out("-C", work, "ls-tree", "-r", "-t", "-l", tree.sha).splitlines()]
    assert [(e.mode, e.type, e.sha, e.path) for e in listed.tree] == [(m, t, s, p) for m, t, s, _, p in expected]
    assert [e.size for e in listed.tree] == [None if size == "-" else int(size) for _, _, _, size, _ in expected]
    assert listed.truncated is False

    author = InputGitAuthor("Ann Author", "ann@example.com", "2024-03-01T10:20:30+05:30")
    committer = InputGitAuthor("Cy Committer", "cy@example.com", "2024-03-02T08:00:00Z")
    parent = repo.get_git_commit(main.object.sha)
    commit = repo.create_git_commit("Made through the API\n\nWith a body.", tree, [parent], author=author,
                                    committer=committer)
    env = {"GIT_AUTHOR_NAME": "Ann Author", "GIT_AUTHOR_EMAIL": "ann@example.com",
           "GIT_AUTHOR_DATE": "2024-03-01T10:20:30+05:30", "GIT_COMMITTER_NAME": "Cy Committer",
           "GIT_COMMITTER_EMAIL": "cy@example.com", "GIT_COMMITTER_DATE": "2024-03-02T08:00:00+00:00"}
    assert commit.sha == out("-C", work, "commit-tree", tree.sha, "-p", main.object.sha,
                             "-m", "Made through the API\n\nWith a body.", env=env).strip()
    again = repo.get_git_commit(commit.sha)
    assert (again.tree.sha, [p.sha for p in again.parents]) == (tree.sha, [main.object.sha])
    assert (again.author.name, again.author.email) == ("Ann Author", "ann@example.com")
    assert again.author.date.isoformat() == "2024-03-01T04:50:30+00:00"
    assert again.message == "Made through the API\n\nWith a body."   # without git's final newline, as GitHub
    assert remote_refs(api_server, tokens, full_name) == remote   # nothing moved yet

    created = repo.create_git_ref("refs/heads/from-api", commit.sha)
    assert (created.ref, created.object.sha) == ("refs/heads/from-api", commit.sha)
    main.edit(commit.sha)   # a fast-forward
    assert main.object.sha == commit.sha
    now = remote_refs(api_server, tokens, full_name)
    assert now == {**remote, "refs/heads/from-api": commit.sha, "refs/heads/main": commit.sha}

    checkout = clone(api_server, tokens["alice"], full_name, tmp_path / "check")
    git("-C", checkout, "fsck", "--strict", "--no-dangling")
    assert out("-C", checkout, "log", "-1", "--format=%H %an %ad", "--date=raw") == \
        f"{commit.sha} Ann Author 1709268630 +0530\n"
    assert (checkout / "docs/guide/new.txt").read_text() == "made through the API\n"
    assert not (checkout / "README.md").exists() and not (checkout / "src/deep").exists()
    assert out("-C", checkout, "ls-files", "-s", "src/tool.sh").startswith("100755 ")

    # Rewinding needs force; then the branch goes.
    with pytest.raises(GithubException) as refused:
        main.edit(remote["refs/heads/main"])
    assert refused.value.status == 422 and refused.value.data["message"] == "Update is not a fast forward"
    assert remote_refs(api_server, tokens, full_name) == now
    main.edit(remote["refs/heads/main"], force=True)
    created.delete()
    assert remote_refs(api_server, tokens, full_name) == {**remote}


def test_refusals_change_nothing(api, api_as, api_server, tokens, repo_with_history):
    full_name, work = repo_with_history
    base = f"/repos/{full_name}"
    before = ls_remote(api_server, tokens, full_name)
    main = out("-C", work, "rev-parse", "main").strip()
    feature = out("-C", work, "rev-parse", "feature").strip()
    tree = out("-C", work, "rev-parse", "main^{tree}").strip()
    blob = out("-C", work, "rev-parse", "main:README.md").strip()
    ghost = "1234567890" * 4

    def refused(answer, status, message=None):
        assert answer.status_code == status, answer.text
        if message:
            assert answer.json()["message"] == message
        assert ls_remote(api_server, tokens, full_name) == before

    refused(api.patch(f"{base}/git/refs/heads/feature", json={"sha": main}), 422, "Update is not a fast forward")
    refused(api.patch(f"{base}/git/refs/heads/feature", json={"sha": main, "force": False}), 422,
            "Update is not a fast forward")
    refused(api.patch(f"{base}/git/refs/heads/main", json={"sha": ghost, "force": True}), 422,
            "Object does not exist")
    refused(api.patch(f"{base}/git/refs/heads/nope", json={"sha": main}), 422, "Reference does not exist")
    refused(api.delete(f"{base}/git/refs/heads/nope"), 422, "Reference does not exist")
    refused(api.post(f"{base}/git/refs", json={"ref": "refs/heads/main", "sha": main}), 422,
            "Reference already exists")
    for bad in ("refs/heads/a..b", "refs/heads/x.lock", "refs/heads/sp ace", "refs/heads/end/", "refs/heads/a@{b"):
        refused(api.post(f"{base}/git/refs", json={"ref": bad, "sha": main}), 422, f"{bad} is not a valid ref name.")
    refused(api.post(f"{base}/git/refs", json={"ref": "heads/x", "sha": main}), 422,
            "Reference name must contain at least three slash-separated components.")
    refused(api.post(f"{base}/git/refs", json={"ref": "refs/heads/x", "sha": ghost}), 422, "Object does not exist")
    refused(api.post(f"{base}/git/refs", json={"ref": "refs/heads/x", "sha": "not-hex"}), 422)
    refused(api.post(f"{base}/git/refs", json={"ref": "refs/heads/x", "sha": tree}), 422,
            "Reference update failed")   # a branch must point at a commit
    refused(api.post(f"{base}/git/refs", json={"ref": "refs/heads/main/sub", "sha": main}), 422,
            "Reference update failed")   # refs/heads/main is a file where a directory would be
    # Objects that point nowhere, or at the wrong kind of thing.
    refused(api.post(f"{base}/git/commits", json={"message": "m", "tree": ghost, "parents": []}), 422,
            "Tree SHA does not exist")
    refused(api.post(f"{base}/git/commits", json={"message": "m", "tree": tree, "parents": [tree]}), 422,
            "Parent SHA does not exist or is not a commit object")
    refused(api.post(f"{base}/git/commits", json={"message": "m", "tree": tree, "author": {
        "name": "A", "email": "a@example.com", "date": "yesterday"}}), 422)
    refused(api.post(f"{base}/git/trees", json={"tree": [{"path": "x", "mode": "100644", "type": "blob",
                                                           "sha": tree}]}), 422)
    refused(api.post(f"{base}/git/trees", json={"tree": [{"path": "x", "mode": "040000", "type": "tree",
                                                           "sha": blob}]}), 422)
    refused(api.post(f"{base}/git/trees", json={"tree": [{"path": "a/../b", "mode": "100644", "type": "blob",
                                                           "content": "x"}]}), 422)
    refused(api.post(f"{base}/git/trees", json={"tree": [{"path": "x", "mode": "100600", "type": "blob",
                                                           "content": "x"}]}), 422)
    refused(api.post(f"{base}/git/trees", json={"base_tree": blob, "tree": []}), 422)
    # JSON may carry lone surrogates, which no object or ref name can hold.
    refused(api.post(f"{base}/git/trees", json={"tree": [{"path": "\ud800", "mode": "100644", "content": "x"}]}),
            422)
    refused(api.post(f"{base}/git/commits", json={"message": "\udfff", "tree": tree}), 422)
    refused(api.post(f"{base}/git/refs", json={"ref": "refs/heads/\ud800", "sha": main}), 422)
    refused(api.post(f"{base}/git/blobs", json={"content": "!!!", "encoding": "base64"}), 422)
    refused(api.post(f"{base}/git/blobs", json={"content": "x", "encoding": "latin-1"}), 422)
    # Callers who may read but not write, and nobody at all.
    carol, anonymous = api_as("carol"), api_as(None)
    for caller, status in ((carol, 403), (anonymous, 401)):
        refused(caller.post(f"{base}/git/refs", json={"ref": "refs/heads/x", "sha": main}), status)
        refused(caller.patch(f"{base}/git/refs/heads/main", json={"sha": feature, "force": True}), status)
        refused(caller.delete(f"{base}/git/refs/heads/feature"), status)
        refused(caller.post(f"{base}/git/blobs", json={"content": "x"}), status)
        refused(caller.post(f"{base}/git/trees", json={"tree": []}), status)
        refused(caller.post(f"{base}/git/commits", json={"message": "m", "tree": tree}), status)
        assert caller.get(f"{base}/git/ref/heads/main").json()["object"]["sha"] == main
    # Nothing above stored an object either: the tree below would have needed them.
    assert api.get(f"{base}/git/blobs/{out('-C', work, 'hash-object', '--stdin', input='x').strip()}").status_code \
        == 404


def test_reads_answer_as_github(api, api_as, api_server, tokens, pushed_repo, repo_with_history):
    full_name, work = repo_with_history
    base = f"/repos/{full_name}"
    main = out("-C", work, "rev-parse", "main").strip()

    one = api.get(f"{base}/git/ref/heads/main").json()
    assert one["url"].endswith(f"/api/v3{base}/git/refs/heads/main")
    assert one["object"] == {"type": "commit", "sha": main,
                             "url": one["object"]["url"].split("/api/v3")[0] + f"/api/v3{base}/git/commits/{main}"}
    assert api.get(f"{base}/git/refs/heads/main").json() == one          # the older form
    assert [r["ref"] for r in api.get(f"{base}/git/refs/heads").json()] == ["refs/heads/feature", "refs/heads/main"]
    assert [r["ref"] for r in api.get(f"{base}/git/matching-refs/heads/fea").json()] == ["refs/heads/feature"]
    assert api.get(f"{base}/git/matching-refs/heads/zzz").json() == []
    assert api.get(f"{base}/git/ref/heads/nope").status_code == 404
    assert api.get(f"{base}/git/refs/heads/nope").status_code == 404
    paged = api.get(f"{base}/git/refs", params={"per_page": 1})
    assert len(paged.json()) == 1 and 'rel="next"' in paged.headers["Link"]

    data = bytes(range(256)) * 3
    made = api.post(f"{base}/git/blobs", json={"content": base64.b64encode(data).decode(), "encoding": "base64"})
    assert made.status_code == 201
    sha = made.json()["sha"]
    assert made.json()["url"].endswith(f"{base}/git/blobs/{sha}")
    blob = api.get(f"{base}/git/blobs/{sha}").json()
    lines = blob["content"].split("\n")
    assert all(len(line) == 60 for line in lines[:-2]) and lines[-1] == ""
    assert base64.b64decode(blob["content"]) == data and blob["size"] == len(data)
    assert api.get(f"{base}/git/blobs/{main}").status_code == 404      # a commit is not a blob
    assert api.get(f"{base}/git/trees/{'0' * 40}").status_code == 404
    assert api.get(f"{base}/git/commits/{'0' * 40}").status_code == 404
    by_name = api.get(f"{base}/git/trees/main").json()
    assert by_name["sha"] == out("-C", work, "rev-parse", "main^{tree}").strip()
    top = [(e["mode"], e["type"], e["path"]) for e in by_name["tree"]]
    assert top == [tuple(line.split(None, 3)[i] for i in (0, 1, 3))
                   for line in out("-C", work, "ls-tree", "main").splitlines()]

    private_name, _ = pushed_repo(private=True)
    assert api_as("carol").get(f"/repos/{private_name}/git/refs").status_code == 404
    assert api_as(None).get(f"/repos/{private_name}/git/ref/heads/main").status_code == 404
    empty = "alice/" + full_name.split("/")[1] + "-empty"
    api_server.createrepo(empty)
    answer = api.get(f"/repos/{empty}/git/refs")
    assert answer.status_code == 409 and answer.json()["message"] == "Git Repository is empty."


def test_objects_made_in_steps_survive_a_repack_and_an_empty_repository_gets_its_first_branch(
        gh, api_server, tokens, fresh_name, tmp_path):
    name = fresh_name()
    api_server.createrepo(f"alice/{name}")
    repo = gh.get_repo(f"alice/{name}")
    blob = repo.create_git_blob(base64.b64encode(b"\x00binary\xff").decode(), "base64")
    tree = repo.create_git_tree([InputGitTreeElement("bin/data", "100644", "blob", sha=blob.sha)])
    commit = repo.create_git_commit("first", tree, [])
    # Nothing reaches them yet; a repack now keeps them all (the store tests cover each step).
    # The blob, bin/, the root tree and the commit.
    assert api_server.manage("repack", f"alice/{name}").strip() == f"alice/{name}: kept 4 objects, dropped 0"
    repo.create_git_ref("refs/heads/main", commit.sha)
    assert repo.get_git_ref("heads/main").object.sha == commit.sha
    assert gh.get_repo(f"alice/{name}").default_branch == "main"
    checkout = clone(api_server, tokens["alice"], f"alice/{name}", tmp_path / "first")
    git("-C", checkout, "fsck", "--strict", "--no-dangling")
    assert (checkout / "bin/data").read_bytes() == b"\x00binary\xff"


def test_annotated_tags(gh, api, api_server, tokens, repo_with_history, tmp_path):
    full_name, work = repo_with_history
    repo = gh.get_repo(full_name)
    main = out("-C", work, "rev-parse", "main").strip()
    tagger = InputGitAuthor("Tess Tagger", "tess@example.com", "2024-05-05T12:00:00+02:00")
    tag = repo.create_git_tag("v9.0", "Release 9", main, "commit", tagger=tagger)
    env = {"GIT_COMMITTER_NAME": "Tess Tagger", "GIT_COMMITTER_EMAIL": "tess@example.com",
           "GIT_COMMITTER_DATE": "2024-05-05T12:00:00+02:00"}
    git("-C", work, "tag", "-a", "v9.0", "-m", "Release 9", main, env=env)
    assert tag.sha == out("-C", work, "rev-parse", "v9.0").strip()
    assert (tag.tag, tag.object.sha, tag.object.type, tag.tagger.name) == ("v9.0", main, "commit", "Tess Tagger")
    assert repo.get_git_tag(tag.sha).message == "Release 9"   # as commit messages: without the final newline
    ref = repo.create_git_ref("refs/tags/v9.0", tag.sha)
    assert (ref.object.type, ref.object.sha) == ("tag", tag.sha)
    checkout = clone(api_server, tokens["alice"], full_name, tmp_path / "tagged")
    git("-C", checkout, "fsck", "--strict", "--no-dangling")
    assert out("-C", checkout, "rev-parse", "v9.0^{commit}").strip() == main
    bad = api.post(f"/repos/{full_name}/git/tags", json={"tag": "a..b", "message": "m", "object": main,
                                                          "type": "commit"})
    assert bad.status_code == 422
