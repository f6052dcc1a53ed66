"""The contents API driven by PyGithub itself (get_contents, create_file, update_file, delete_file),
with the results checked by cloning with real git: content, history, fsck --strict."""
import base64

import pytest
from github import GithubException, InputGitAuthor

from tests.api.conftest import clone, make_client
from tests.support.gitcli import fsck, git, ls_remote, out


@pytest.fixture(scope="module")
def shared(api_server, tokens, tmp_path_factory):
    """One repository for the read tests: nested files, an executable, a symlink, a branch."""
    name = "contents-shared"
    api_server.createrepo(f"alice/{name}")
    work = tmp_path_factory.mktemp("contents") / name
    git("init", "-q", "-b", "main", work)
    (work / "src/lib").mkdir(parents=True)
    (work / "README.md").write_text("# hello\n")
    (work / "src/app.py").write_text("print('hi')\n")
    (work / "src/lib/util.py").write_text("X = 1\n")
    (work / "run.sh").write_text("#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    (work / "link").symlink_to("src/app.py")
    (work / "outside").symlink_to("../elsewhere")
    (work / "docs").mkdir()
    (work / "docs/README.md").write_text("docs readme\n")
    (work / ".gitmodules").write_text('[submodule "lib"]\n\tpath = vendor/lib\n\turl = https://example.org/lib.git\n')
    git("-C", work, "add", "-A")
    git("-C", work, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor/lib")
    git("-C", work, "commit", "-q", "-m", "start")
    git("-C", work, "checkout", "-q", "-b", "feature")
    (work / "README.md").write_text("# feature\n")
    git("-C", work, "commit", "-q", "-am", "feature")
    git("-C", work, "checkout", "-q", "main")
    git("-C", work, "push", "-q", api_server.repo_url("alice", name, tokens["alice"]), "--all")
    return f"alice/{name}", work


def blob_sha(work, spec):
    return out("-C", work, "rev-parse", spec).strip()


def test_get_a_file(gh, shared):
    full_name, work = shared
    repo = gh.get_repo(full_name)
    readme = repo.get_contents("README.md")
    assert readme.type == "file"
    assert readme.encoding == "base64"
    assert readme.decoded_content == b"# hello\n"
    assert readme.sha == blob_sha(work, "main:README.md")
    assert readme.size == 8
    assert readme.path == "README.md" and readme.name == "README.md"
    assert readme.url.endswith(f"/api/v3/repos/{full_name}/contents/README.md?ref=main")
    assert readme.git_url.endswith(f"/git/blobs/{readme.sha}")
    assert readme.html_url.endswith(f"/{full_name}/blob/main/README.md")
    assert readme.download_url.endswith(f"/{full_name}/raw/main/README.md")
    nested = repo.get_contents("src/lib/util.py", ref="feature")
    assert nested.decoded_content == b"X = 1\n"
    assert repo.get_contents("README.md", ref="feature").decoded_content == b"# feature\n"
    commit = blob_sha(work, "main")
    assert repo.get_contents("README.md", ref=commit).decoded_content == b"# hello\n"


def test_get_a_directory(gh, shared):
    full_name, work = shared
    repo = gh.get_repo(full_name)
    root = repo.get_contents("")
    assert [(c.name, c.type) for c in root] == [
        (".gitmodules", "file"), ("README.md", "file"), ("docs", "dir"), ("link", "symlink"), ("outside", "symlink"),
        ("run.sh", "file"), ("src", "dir"), ("vendor", "dir")]
    # A submodule is listed as a "file" (GitHub's compatibility rule) and described as a submodule.
    assert [(c.name, c.type) for c in repo.get_contents("vendor")] == [("lib", "file")]
    submodule = repo.get_contents("vendor/lib")
    assert submodule.type == "submodule" and submodule.sha == "1" * 40
    assert submodule.submodule_git_url == "https://example.org/lib.git"
    src = {c.name: c for c in repo.get_contents("src")}
    assert src["lib"].sha == blob_sha(work, "main:src/lib")
    assert src["lib"].download_url is None
    assert src["app.py"].size == len("print('hi')\n")
    # A listed file fills in its content lazily from its url, as PyGithub does.
    assert src["app.py"].decoded_content == b"print('hi')\n"


def test_symlinks(api, shared):
    full_name, _work = shared
    followed = api.get(f"/repos/{full_name}/contents/link").json()
    assert followed["path"] == "src/app.py"
    assert base64.b64decode(followed["content"]) == b"print('hi')\n"
    outside = api.get(f"/repos/{full_name}/contents/outside").json()
    assert outside["type"] == "symlink" and outside["target"] == "../elsewhere"
    assert "content" not in outside


def test_raw_media_type_and_readme(api, shared):
    full_name, _ = shared
    raw = api.get(f"/repos/{full_name}/contents/src/app.py", headers={"Accept": "application/vnd.github.raw"})
    assert raw.status_code == 200 and raw.content == b"print('hi')\n"
    readme = api.get(f"/repos/{full_name}/readme").json()
    assert readme["path"] == "README.md"
    assert base64.b64decode(readme["content"]) == b"# hello\n"
    assert api.get(f"/repos/{full_name}/readme/src").status_code == 404
    docs = api.get(f"/repos/{full_name}/readme/docs").json()
    assert docs["path"] == "docs/README.md"
    assert api.get(f"/repos/{full_name}/readme/nope").status_code == 404


def test_missing_paths_and_refs(api, gh, shared):
    full_name, _ = shared
    for path in ("/contents/nope.txt", "/contents/src/nope", "/contents/README.md/x", "/contents/README.md?ref=nope",
                 "/contents/a%2F..%2FREADME.md", "/contents/.git/config"):
        answer = api.get(f"/repos/{full_name}{path}")
        assert answer.status_code == 404, path
    with pytest.raises(GithubException) as caught:
        gh.get_repo(full_name).get_contents("nope.txt")
    assert caught.value.status == 404


def test_create_update_delete_with_pygithub(gh, api_server, tokens, pushed_repo, tmp_path):
    full_name, _work = pushed_repo(branches={"dev": [{"dev.txt": "dev\n"}]})
    repo = gh.get_repo(full_name)
    created = repo.create_file("docs/new.md", "add docs", "first\n")
    assert created["content"].path == "docs/new.md"
    assert created["commit"].sha
    sha1 = created["content"].sha
    assert repo.get_contents("docs/new.md").decoded_content == b"first\n"

    updated = repo.update_file("docs/new.md", "change docs", b"second\n", sha1)
    assert updated["content"].sha != sha1
    deleted_in_dev = repo.create_file("only-dev.txt", "on dev", "x", branch="dev")
    author = InputGitAuthor("Ann Author", "ann@example.org")
    repo.delete_file("README.md", "remove readme", repo.get_contents("README.md").sha, branch="main")
    repo.update_file("dev.txt", "dev change", "dev 2\n", repo.get_contents("dev.txt", ref="dev").sha,
                     branch="dev", author=author)

    dest = clone(api_server, tokens["alice"], full_name, tmp_path / "check")
    assert (dest / "docs/new.md").read_text() == "second\n"
    assert not (dest / "README.md").exists()
    assert out("-C", dest, "log", "--format=%s", "main") .splitlines() == [
        "remove readme", "change docs", "add docs", "commit 1"]
    assert out("-C", dest, "log", "-1", "--format=%an <%ae>|%cn", "main").strip().startswith("alice")
    assert out("-C", dest, "show", "origin/dev:dev.txt") == "dev 2\n"
    assert out("-C", dest, "show", "origin/dev:only-dev.txt") == "x"
    assert out("-C", dest, "log", "-1", "--format=%an <%ae>", "origin/dev").strip() == "Ann Author <ann@example.org>"
    assert deleted_in_dev["commit"].sha == out("-C", dest, "rev-parse", "origin/dev~1").strip()
    fsck(dest)


def test_update_keeps_the_executable_bit(gh, api_server, tokens, shared, tmp_path):
    full_name, _ = shared
    repo = gh.get_repo(full_name)
    repo.update_file("run.sh", "change script", "#!/bin/sh\necho 2\n", repo.get_contents("run.sh", ref="feature").sha,
                     branch="feature")
    dest = clone(api_server, tokens["alice"], full_name, tmp_path / "check")
    assert out("-C", dest, "ls-tree", "origin/feature", "run.sh").startswith("100755 blob")


def test_statuses_and_bodies(api, pushed_repo):
    full_name, work = pushed_repo()
    url = f"/repos/{full_name}/contents/new.txt"
    created = api.put(url, json={"message": "add", "content": base64.b64encode(b"one\n").decode()})
    assert created.status_code == 201
    body = created.json()
    assert body["content"]["sha"] == out("hash-object", "--stdin", input="one\n").strip()
    assert body["content"]["type"] == "file"
    assert body["commit"]["message"] == "add"   # without git's final newline, as GitHub gives it
    assert body["commit"]["parents"][0]["sha"] == blob_sha(work, "main")
    assert body["commit"]["tree"]["sha"]
    again = api.put(url, json={"message": "again", "content": base64.b64encode(b"two\n").decode(),
                               "sha": body["content"]["sha"]})
    assert again.status_code == 200
    missing_sha = api.put(url, json={"message": "x", "content": "eA=="})
    assert missing_sha.status_code == 422
    assert "\"sha\" wasn't supplied" in missing_sha.json()["message"]
    bad_base64 = api.put(url, json={"message": "x", "content": "not base64!", "sha": again.json()["content"]["sha"]})
    assert bad_base64.status_code == 422
    bad_path = api.put(f"/repos/{full_name}/contents/.git/hooks/x", json={"message": "x", "content": "eA=="})
    assert bad_path.status_code in (404, 422)
    over_dir = api.put(f"/repos/{full_name}/contents/new.txt/inside", json={"message": "x", "content": "eA=="})
    assert over_dir.status_code == 422
    no_branch = api.put(url, json={"message": "x", "content": "eA==", "branch": "nope"})
    assert no_branch.status_code == 404
    gone = api.delete(f"/repos/{full_name}/contents/nothing.txt", json={"message": "x", "sha": "0" * 40})
    assert gone.status_code == 404
    deleted = api.delete(url, json={"message": "rm", "sha": again.json()["content"]["sha"]})
    assert deleted.status_code == 200
    assert deleted.json()["content"] is None
    assert deleted.json()["commit"]["message"].startswith("rm")


def test_stale_sha_writes_nothing(gh, api, api_server, tokens, pushed_repo):
    full_name, work = pushed_repo(commits=[{"a.txt": "a\n"}])
    before = ls_remote(api_server.repo_url(*full_name.split("/"), tokens["alice"]))
    repo = gh.get_repo(full_name)
    stale = blob_sha(work, "main:a.txt")
    repo.update_file("a.txt", "first", "b\n", stale)
    middle = ls_remote(api_server.repo_url(*full_name.split("/"), tokens["alice"]))
    assert middle != before
    with pytest.raises(GithubException) as caught:
        repo.update_file("a.txt", "second", "c\n", stale)
    assert caught.value.status == 409
    assert "does not match" in caught.value.data["message"]
    with pytest.raises(GithubException) as caught:
        repo.delete_file("a.txt", "rm", stale)
    assert caught.value.status == 409
    assert ls_remote(api_server.repo_url(*full_name.split("/"), tokens["alice"])) == middle


def test_read_only_and_anonymous_refused(api_server, tokens, api_as, pushed_repo):
    full_name, work = pushed_repo()
    carol = make_client(api_server, tokens["carol"])
    with pytest.raises(GithubException) as caught:
        carol.get_repo(full_name).create_file("x.txt", "no", "no")
    assert caught.value.status == 403
    assert carol.get_repo(full_name).get_contents("README.md").decoded_content == b"# hello\n"
    anonymous = api_as(None).put(f"/repos/{full_name}/contents/x.txt", json={"message": "x", "content": "eA=="})
    assert anonymous.status_code == 401
    private_name, _ = pushed_repo(private=True)
    assert api_as(None).get(f"/repos/{private_name}/contents/README.md").status_code == 404
    assert ls_remote(api_server.repo_url(*full_name.split("/"), tokens["alice"]))["refs/heads/main"] == \
        blob_sha(work, "main")


def test_first_file_into_an_empty_repository(gh, api, api_server, tokens, fresh_name, tmp_path):
    name = fresh_name()
    repo = gh.get_user().create_repo(name)
    empty = api.get(f"/repos/alice/{name}/contents/")
    assert empty.status_code == 404 and empty.json()["message"] == "This repository is empty."
    created = repo.create_file("README.md", "first commit", "# first\n")
    assert created["commit"].parents == []
    repo = gh.get_repo(f"alice/{name}")
    assert repo.default_branch == "main"
    assert repo.get_contents("README.md").decoded_content == b"# first\n"
    refs = ls_remote(api_server.repo_url("alice", name, tokens["alice"]))
    assert refs["HEAD"] == refs["refs/heads/main"] == created["commit"].sha
    dest = clone(api_server, tokens["alice"], f"alice/{name}", tmp_path / "check")
    assert (dest / "README.md").read_text() == "# first\n"
    assert out("-C", dest, "rev-list", "--count", "HEAD").strip() == "1"
    fsck(dest)


def test_first_file_on_another_branch_becomes_the_default(gh, fresh_name):
    name = fresh_name()
    repo = gh.get_user().create_repo(name)
    repo.create_file("a.txt", "first", "a\n", branch="trunk")
    assert gh.get_repo(f"alice/{name}").default_branch == "trunk"


def test_odd_inputs_never_fail(api, api_server, tokens, fresh_name, tmp_path):
    """A name that is not UTF-8, NUL and dot segments in paths, odd refs, a bad date: answers, never a 500."""
    name = fresh_name()
    api_server.createrepo(f"alice/{name}")
    work = tmp_path / name
    git("init", "-q", "-b", "main", work)
    (work / "ok.txt").write_text("ok\n")
    import os
    with open(os.path.join(bytes(work), b"caf\xe9.txt"), "wb") as f:
        f.write(b"latin-1 name\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "odd")
    git("-C", work, "push", "-q", api_server.repo_url("alice", name, tokens["alice"]), "main")
    listing = api.get(f"/repos/alice/{name}/contents")
    assert listing.status_code == 200
    assert min(entry["name"] for entry in listing.json()) == "caf\ufffd.txt"
    for path in ("/contents/a%00b", "/contents/ok.txt?ref=%00", "/contents/ok.txt?ref=..", "/contents/%2e%2e",
                 "/contents/ok.txt?ref=" + "f" * 40, "/contents/ok.txt?ref=main:ok.txt", "/contents//ok.txt"):
        answer = api.get(f"/repos/alice/{name}{path}")
        # A NUL in a query value is refused before any lookup (forge/nul_bytes.py).
        allowed = (422,) if "?ref=%00" in path else (200, 404)
        assert answer.status_code in allowed, (path, answer.status_code, answer.text)
    sha = out("-C", work, "rev-parse", "main:ok.txt").strip()
    for body in ({"message": "m", "content": "eA==", "sha": sha, "committer": {"name": "x", "email": "y",
                                                                                 "date": "not a date"}},
                 {"message": "m", "content": 5}, {"message": "m"}, {"content": "eA=="},
                 {"message": "m", "content": "eA==", "sha": "zz"}, {"message": "m", "content": "eA==", "branch": "a..b"}):
        answer = api.put(f"/repos/alice/{name}/contents/ok.txt", json=body)
        assert answer.status_code in (409, 422), (body, answer.status_code, answer.text)
    assert api.put(f"/repos/alice/{name}/contents/a%00b", json={"message": "m", "content": "eA=="}).status_code == 422
    refs = ls_remote(api_server.repo_url("alice", name, tokens["alice"]))
    assert refs["refs/heads/main"] == out("-C", work, "rev-parse", "main").strip()
