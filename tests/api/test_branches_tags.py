"""Branches and tags through the API, driven by PyGithub and checked against `git ls-remote` of
the same repository: names, tips, peeled tags, GitHub's order, pages, archives, empty repositories,
private repositories and old names."""
import io
import zipfile

import pytest
import requests
from github import GithubException

from tests.api.conftest import make_client
from tests.support.gitcli import git

BRANCHES = {"dev": [{"dev.txt": "dev\n"}], "feature/deep/x": [{"x.txt": "x\n"}, {"x.txt": "x2\n"}],
            "Zeta": [{"z.txt": "z\n"}]}
TAGS = ["v1.9", "v1.10", "v2.0", "v1.10-rc1", "light", "release/2024"]


@pytest.fixture(scope="module")
def tagged(api_server, tokens, tmp_path_factory):
    """alice/branches-tags: main with two commits, the branches above, annotated and lightweight
    tags (one nested: a tag of a tag), pushed with git; ls-remote's view of it."""
    name = "branches-tags-module"
    assert make_client(api_server, tokens["alice"]).get_user().create_repo(name).name == name
    work = tmp_path_factory.mktemp("tagged") / "work"
    git("init", "-q", "-b", "main", str(work))
    for number in (1, 2):
        (work / "README.md").write_text(f"# {number}\n")
        git("-C", str(work), "add", "-A")
        git("-C", str(work), "commit", "-q", "-m", f"main {number}")
    for branch, commits in BRANCHES.items():
        git("-C", str(work), "checkout", "-q", "-b", branch, "main")
        for number, files in enumerate(commits, 1):
            for path, text in files.items():
                (work / path).write_text(text)
            git("-C", str(work), "add", "-A")
            git("-C", str(work), "commit", "-q", "-m", f"{branch} {number}")
    git("-C", str(work), "checkout", "-q", "main")
    for tag in TAGS:
        if tag == "light":
            git("-C", str(work), "tag", tag, "dev")
        else:
            git("-C", str(work), "tag", "-a", "-m", f"tag {tag}", tag)
    git("-C", str(work), "tag", "-a", "-m", "nested", "v0.9-nested", "v1.9")
    url = api_server.repo_url("alice", name, tokens["alice"])
    git("-C", str(work), "push", "-q", url, "--all")
    git("-C", str(work), "push", "-q", url, "--tags")
    refs = {}
    for line in git("ls-remote", url).stdout.splitlines():
        sha, ref = line.split("\t")
        refs[ref] = sha
    return {"full_name": f"alice/{name}", "refs": refs, "work": work}


def heads_of(refs):
    """[(branch, sha)] in ls-remote's order (git's ref order)."""
    return [(ref[len("refs/heads/"):], sha) for ref, sha in refs.items() if ref.startswith("refs/heads/")]


def peeled_tag(refs, name):
    return refs.get(f"refs/tags/{name}^{{}}", refs[f"refs/tags/{name}"])


def test_branches_match_git(gh, tagged):
    repo = gh.get_repo(tagged["full_name"])
    listed = [(b.name, b.commit.sha, b.protected) for b in repo.get_branches()]
    assert listed == [(name, sha, False) for name, sha in heads_of(tagged["refs"])]
    assert [name for name, _, _ in listed] == ["Zeta", "dev", "feature/deep/x", "main"]


def test_branch_pages(api_server, tokens, tagged, api):
    paged = make_client(api_server, tokens["alice"])
    paged.per_page = 2
    assert [b.name for b in paged.get_repo(tagged["full_name"]).get_branches()] == [
        name for name, _ in heads_of(tagged["refs"])]
    first = api.get(f"/repos/{tagged['full_name']}/branches", params={"per_page": 3})
    assert len(first.json()) == 3 and 'rel="next"' in first.headers["Link"]
    last = api.get(f"/repos/{tagged['full_name']}/branches", params={"per_page": 3, "page": 2})
    assert [b["name"] for b in last.json()] == ["main"] and 'rel="prev"' in last.headers["Link"]
    assert api.get(f"/repos/{tagged['full_name']}/branches", params={"protected": "true"}).json() == []
    assert len(api.get(f"/repos/{tagged['full_name']}/branches", params={"protected": "false"}).json()) == 4


def test_one_branch_is_githubs_branch_object(gh, api, tagged):
    repo = gh.get_repo(tagged["full_name"])
    branch = repo.get_branch("feature/deep/x")
    tip = tagged["refs"]["refs/heads/feature/deep/x"]
    assert branch.name == "feature/deep/x"
    assert branch.commit.sha == tip
    # (GitHub strips the message's final newline; serializers.commit_json keeps it for now.)
    assert branch.commit.commit.message.rstrip("\n") == "feature/deep/x 2"
    assert branch.commit.parents[0].sha == git("-C", str(tagged["work"]), "rev-parse", tip + "^").stdout.strip()
    assert branch.protected is False
    raw = api.get(f"/repos/{tagged['full_name']}/branches/feature/deep/x").json()
    assert raw["_links"]["self"].endswith(f"/api/v3/repos/{tagged['full_name']}/branches/feature/deep/x")
    assert raw["_links"]["html"].endswith(f"/{tagged['full_name']}/tree/feature/deep/x")
    assert raw["protection"] == {"enabled": False, "required_status_checks": {
        "enforcement_level": "off", "contexts": [], "checks": []}}
    assert raw["protection_url"] == raw["_links"]["self"] + "/protection"
    assert raw["commit"]["url"].endswith(f"/commits/{tip}")
    assert repo.get_branch("Zeta").commit.sha == tagged["refs"]["refs/heads/Zeta"]
    with pytest.raises(GithubException) as missing:
        repo.get_branch("zeta")   # names are exact, as in git
    assert missing.value.status == 404 and missing.value.data["message"] == "Branch not found"
    for odd in ("no-such", "feature/deep", "a..b", "main/extra", "%00"):
        assert api.get(f"/repos/{tagged['full_name']}/branches/{odd}").status_code == 404, odd


def test_tags_match_git_newest_version_first(gh, tagged):
    tags = list(gh.get_repo(tagged["full_name"]).get_tags())
    assert [t.name for t in tags] == ["v2.0", "v1.10-rc1", "v1.10", "v1.9", "v0.9-nested", "release/2024", "light"]
    for tag in tags:
        # Annotated (and nested) tags peel to their commit, as ls-remote's ^{} lines do.
        assert tag.commit.sha == peeled_tag(tagged["refs"], tag.name), tag.name
    assert tagged["refs"]["refs/tags/v0.9-nested^{}"] == tagged["refs"]["refs/heads/main"]
    assert len({t.node_id for t in tags}) == len(tags)


def test_tag_archives_download(api, api_server, tokens, tagged):
    tag = api.get(f"/repos/{tagged['full_name']}/tags").json()[0]
    assert tag["name"] == "v2.0"
    assert tag["commit"]["url"].endswith(f"/api/v3/repos/{tagged['full_name']}/commits/{tag['commit']['sha']}")
    assert tag["zipball_url"].endswith(f"/{tagged['full_name']}/archive/refs/tags/v2.0.zip")
    assert tag["tarball_url"].endswith(f"/{tagged['full_name']}/archive/refs/tags/v2.0.tar.gz")
    answer = requests.get(tag["zipball_url"], timeout=60)
    assert answer.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert any(n.endswith("README.md") for n in names)
    assert requests.get(tag["tarball_url"], timeout=60).status_code == 200
    paged = api.get(f"/repos/{tagged['full_name']}/tags", params={"per_page": 2, "page": 4})
    assert [t["name"] for t in paged.json()] == ["light"]
    assert 'rel="first"' in paged.headers["Link"]


def test_empty_repository_has_no_branches_or_tags(gh, api, fresh_name):
    repo = gh.get_user().create_repo(fresh_name())
    assert list(repo.get_branches()) == [] and list(repo.get_tags()) == []
    answer = api.get(f"/repos/{repo.full_name}/branches/main")
    assert answer.status_code == 404 and answer.json()["message"] == "Branch not found"


def test_private_and_renamed(gh, api, api_as, pushed_repo):  # noqa: F811
    full_name, _ = pushed_repo(private=True, branches={"dev": [{"a": "b\n"}]})
    for path in ("/branches", "/branches/main", "/tags"):
        assert api_as("carol").get(f"/repos/{full_name}{path}").status_code == 404, path
        assert api_as(None).get(f"/repos/{full_name}{path}").status_code == 404, path
        assert api.get(f"/repos/{full_name}{path}").status_code == 200, path
    owner, name = full_name.split("/")
    gh.get_repo(full_name).edit(name=name + "-renamed")
    moved = api.get(f"/repos/{full_name}/branches", params={"per_page": 1})
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/repos/{owner}/{name}-renamed/branches?per_page=1")
    assert [b.name for b in gh.get_repo(full_name).get_branches()] == ["dev", "main"]
    assert api_as("carol").get(f"/repos/{full_name}/branches").status_code == 404
