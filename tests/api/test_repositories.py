"""Repositories through the API: create (with auto_init), read, edit (rename, visibility, default
branch), delete, the two lists with their filters, orders and pages, who may do what, and a
renamed repository reached by its old name. PyGithub drives what it can; raw HTTP checks statuses
and headers; git itself checks what landed."""
import pytest
from github import GithubException, UnknownObjectException

from tests.api.conftest import ALL_SCOPES, Api, clone, make_client
from tests.support.gitcli import git

OWNER, OTHER = "rl-owner", "rl-other"


def ls_remote(server, token, full_name, *args):
    owner, name = full_name.split("/")
    lines = git("ls-remote", *args, server.repo_url(owner, name, token)).stdout.splitlines()
    return [tuple(line.split("\t")) for line in lines]


def make_api(server, token):
    return Api(server.url + "/api/v3", token)




def add_collaborator(server, full_name, username, permission):
    owner, name = full_name.split("/")
    server.manage("shell", "-c",
                  "from repos.selectors import get_repository; from repos.services import set_collaborator; "
                  f"set_collaborator(get_repository({owner!r}, {name!r}), {username!r}, {permission!r})")


@pytest.fixture(scope="module")
def listing(api_server):
    """Users of this module alone, so their lists are exactly what the test made: rl-owner owns
    alpha (public), Beta (private) and gamma (public), and collaborates on rl-other/shared
    (private); rl-other/secret (private) is not theirs to see."""
    owner_token = api_server.token(OWNER, ALL_SCOPES)
    other_token = api_server.token(OTHER, ALL_SCOPES)
    owner, other = make_client(api_server, owner_token), make_client(api_server, other_token)
    me = owner.get_user()
    me.create_repo("alpha", description="first")
    me.create_repo("Beta", private=True)
    me.create_repo("gamma")
    other.get_user().create_repo("shared", private=True)
    other.get_user().create_repo("secret", private=True)
    add_collaborator(api_server, f"{OTHER}/shared", OWNER, "write")
    return {"owner": owner, "other": other, "owner_token": owner_token}


def names(repos):
    return [r.full_name for r in repos]


def test_user_repos_lists_owned_and_collaborations(listing):
    mine = listing["owner"].get_user()
    assert names(mine.get_repos()) == [f"{OTHER}/shared", f"{OWNER}/alpha", f"{OWNER}/Beta", f"{OWNER}/gamma"]
    assert names(mine.get_repos(direction="desc")) == [f"{OWNER}/gamma", f"{OWNER}/Beta", f"{OWNER}/alpha",
                                                        f"{OTHER}/shared"]
    assert names(mine.get_repos(visibility="private")) == [f"{OTHER}/shared", f"{OWNER}/Beta"]
    assert names(mine.get_repos(visibility="public")) == [f"{OWNER}/alpha", f"{OWNER}/gamma"]
    assert names(mine.get_repos(affiliation="owner")) == [f"{OWNER}/alpha", f"{OWNER}/Beta", f"{OWNER}/gamma"]
    assert names(mine.get_repos(affiliation="collaborator")) == [f"{OTHER}/shared"]
    assert names(mine.get_repos(type="owner")) == [f"{OWNER}/alpha", f"{OWNER}/Beta", f"{OWNER}/gamma"]
    assert names(mine.get_repos(type="member")) == [f"{OTHER}/shared"]
    assert names(mine.get_repos(type="private")) == [f"{OTHER}/shared", f"{OWNER}/Beta"]
    # Created last first by default for a date order, oldest first when asked.
    assert names(mine.get_repos(sort="created")) == [f"{OTHER}/shared", f"{OWNER}/gamma", f"{OWNER}/Beta",
                                                      f"{OWNER}/alpha"]
    assert names(mine.get_repos(sort="created", direction="asc")) == [f"{OWNER}/alpha", f"{OWNER}/Beta",
                                                                       f"{OWNER}/gamma", f"{OTHER}/shared"]
    listed = {r.full_name: r for r in mine.get_repos()}
    assert listed[f"{OWNER}/alpha"].description == "first"
    assert listed[f"{OTHER}/shared"].permissions.push is True
    assert listed[f"{OTHER}/shared"].permissions.admin is False


def test_user_repos_refuses_contradictions_and_anonymous(listing, api_server, api_as):
    raw = api_as(None)
    assert raw.get("/user/repos").status_code == 401
    owner = make_api(api_server, listing["owner_token"])
    answer = owner.get("/user/repos", params={"type": "owner", "visibility": "public"})
    assert answer.status_code == 422
    assert owner.get("/user/repos", params={"affiliation": "owner,friends"}).status_code == 422
    assert owner.get("/user/repos", params={"sort": "stars"}).status_code == 422
    assert owner.get("/user/repos", params={"since": "2000-01-01T00:00:00Z"}).json()[0]["name"] == "shared"
    assert owner.get("/user/repos", params={"before": "2000-01-01T00:00:00Z"}).json() == []
    assert owner.get("/user/repos", params={"since": "2000-01-01T00:00:00"}).status_code == 200
    # Offsets Python takes but PostgreSQL refuses (past ±15:59), and moments at the ends of time, are
    # compared in UTC (schemathesis found the 500 on PostgreSQL).
    assert owner.get("/user/repos", params={"since": "0353-04-07T12:31:46+17:06"}).json()[0]["name"] == "shared"
    assert owner.get("/user/repos", params={"before": "0001-01-01T00:00:00+01:00"}).json() == []
    assert owner.get("/user/repos", params={"since": "9999-12-31T23:59:59-23:59"}).json() == []
    # A page far past the end is empty, not an error.
    huge = owner.get("/user/repos", params={"page": 10**30})
    assert huge.status_code == 200 and huge.json() == []
    assert owner.get(f"/users/{OWNER}/repos", params={"page": 10**30}).json() == []


def test_user_repos_pages_with_link_headers(listing, api_server):
    owner = make_api(api_server, listing["owner_token"])
    first = owner.get("/user/repos", params={"per_page": 3})
    assert [r["full_name"] for r in first.json()] == [f"{OTHER}/shared", f"{OWNER}/alpha", f"{OWNER}/Beta"]
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    assert 'rel="last"' in first.headers["Link"]
    second = owner.get("/user/repos", params={"per_page": 3, "page": 2})
    assert [r["full_name"] for r in second.json()] == [f"{OWNER}/gamma"]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    # PyGithub follows the Link header across pages of two.
    paged = make_client(api_server, listing["owner_token"])
    paged.per_page = 2
    assert names(paged.get_user().get_repos()) == names(listing["owner"].get_user().get_repos())


def test_users_repos_shows_what_the_caller_may_read(listing, gh, api_server, api_as):
    assert names(listing["owner"].get_user(OWNER).get_repos()) == [f"{OWNER}/alpha", f"{OWNER}/Beta",
                                                                    f"{OWNER}/gamma"]
    # alice is no collaborator: the public ones only; anonymous callers see the same.
    assert names(gh.get_user(OWNER).get_repos()) == [f"{OWNER}/alpha", f"{OWNER}/gamma"]
    anonymous = api_as(None).get(f"/users/{OWNER}/repos")
    assert [r["name"] for r in anonymous.json()] == ["alpha", "gamma"]
    assert anonymous.json()[0].get("permissions") is None
    # type=member: what they collaborate on, as far as the caller may see it.
    assert names(listing["owner"].get_user(OWNER).get_repos(type="member")) == [f"{OTHER}/shared"]
    assert names(gh.get_user(OWNER).get_repos(type="member")) == []
    assert names(listing["other"].get_user(OWNER).get_repos(type="all")) == [f"{OTHER}/shared", f"{OWNER}/alpha",
                                                                              f"{OWNER}/gamma"]
    assert api_as(None).get("/users/no-such-user-here/repos").status_code == 404


def test_create_with_auto_init_writes_a_readme_commit(gh, api, api_server, tokens, tmp_path, fresh_name):
    name = fresh_name()
    repo = gh.get_user().create_repo(name, description="Made by the API", private=True, auto_init=True)
    assert (repo.full_name, repo.private, repo.default_branch) == (f"alice/{name}", True, "main")
    assert repo.description == "Made by the API"
    work = clone(api_server, tokens["alice"], repo.full_name, tmp_path / "clone")
    assert (work / "README.md").read_text() == f"# {name}\nMade by the API\n"
    assert git("-C", str(work), "log", "--format=%s", "main").stdout.splitlines() == ["Initial commit"]
    heads = ls_remote(api_server, tokens["alice"], repo.full_name, "--symref")
    assert heads[0] == ("ref: refs/heads/main", "HEAD")
    assert repo.get_branch("main").commit.sha == {ref: sha for sha, ref in heads[1:]}["refs/heads/main"]
    assert api.get(f"/repos/{repo.full_name}").json()["pushed_at"] is not None


def test_create_refuses_a_taken_name_and_bad_values(gh, api, api_as, fresh_name):
    name = fresh_name()
    created = api.post("/user/repos", json={"name": name, "default_branch": "trunk"})
    assert created.status_code == 201
    assert created.json()["default_branch"] == "trunk" and created.json()["private"] is False
    assert gh.get_repo(f"alice/{name}").get_branches().totalCount == 0
    with pytest.raises(GithubException) as refused:
        gh.get_user().create_repo(name.upper())
    assert refused.value.status == 422
    assert refused.value.data["message"] == "Repository creation failed."
    assert refused.value.data["errors"] == [{"resource": "Repository", "code": "custom", "field": "name",
                                             "message": "name already exists on this account"}]
    for body in ({"name": "bad name"}, {"name": "x" * 101}, {"name": "ok-" + name, "visibility": "internal"},
                 {"name": "ok-" + name, "default_branch": "bad..branch"}, {"name": 5}, {},
                 {"name": "ok-" + name, "description": "d" * 501}, {"name": "ok-" + name, "description": "a\nb"}):
        answer = api.post("/user/repos", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["message"] in ("Validation Failed",)
    assert api.get(f"/repos/alice/ok-{name}").status_code == 404
    made_private = api.post("/user/repos", json={"name": "v-" + name, "visibility": "private"})
    assert made_private.json()["private"] is True and made_private.json()["visibility"] == "private"
    assert api_as(None).post("/user/repos", json={"name": "anon"}).status_code == 401
    assert api_as("carol").post("/user/repos", json={"name": "carols"}).status_code == 403


def test_edit_renames_and_changes_settings(gh, api, api_server, tokens, pushed_repo):
    full_name, _ = pushed_repo(branches={"dev": [{"dev.txt": "dev\n"}]})
    old_name = full_name.split("/")[1]
    repo = gh.get_repo(full_name)
    repo.edit(name=old_name + "-new", description="Renamed", private=True, default_branch="dev")
    assert (repo.name, repo.description, repo.private, repo.default_branch) == (
        old_name + "-new", "Renamed", True, "dev")
    assert repo.url.endswith(f"/repos/alice/{old_name}-new")
    fetched = gh.get_repo(f"alice/{old_name}-new")
    assert (fetched.description, fetched.private, fetched.visibility) == ("Renamed", True, "private")
    # The store's HEAD follows the default branch: a clone checks dev out.
    assert ls_remote(api_server, tokens["alice"], f"alice/{old_name}-new", "--symref")[0] == (
        "ref: refs/heads/dev", "HEAD")
    # Editing only the description keeps the rest (PyGithub sends the name it has).
    repo.edit(description="")
    assert gh.get_repo(repo.full_name).description is None
    repo.edit(visibility="public")
    assert gh.get_repo(repo.full_name).private is False


def test_edit_refuses_bad_values_and_changes_nothing(gh, api, pushed_repo):
    full_name, _ = pushed_repo()
    other, _ = pushed_repo()
    before = api.get(f"/repos/{full_name}").json()
    for body, field in (({"description": "new", "default_branch": "missing"}, "default_branch"),
                        ({"description": "new", "visibility": "internal"}, "visibility"),
                        ({"description": "new", "name": "bad name"}, "name"),
                        ({"description": "two\nlines"}, "description")):
        answer = api.patch(f"/repos/{full_name}", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["field"] == field
    clash = api.patch(f"/repos/{full_name}", json={"name": other.split("/")[1], "description": "new"})
    assert clash.status_code == 422
    assert clash.json()["errors"] == [{"resource": "Repository", "code": "custom", "field": "name",
                                       "message": "name already exists on this account"}]
    after = api.get(f"/repos/{full_name}").json()
    assert {k: after[k] for k in ("name", "description", "private", "default_branch")} == \
        {k: before[k] for k in ("name", "description", "private", "default_branch")}
    assert api.patch(f"/repos/{full_name}", json={"private": "maybe"}).status_code == 422


def test_empty_repository_may_name_any_default_branch(gh, fresh_name, api_server, tokens):
    repo = gh.get_user().create_repo(fresh_name())
    repo.edit(default_branch="trunk")
    assert gh.get_repo(repo.full_name).default_branch == "trunk"


def test_old_name_redirects(gh, api, api_as, pushed_repo):
    full_name, _ = pushed_repo(private=True)
    owner, name = full_name.split("/")
    assert api.patch(f"/repos/{full_name}", json={"name": name + "-moved"}).status_code == 200
    moved = api.get(f"/repos/{full_name}")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/api/v3/repos/{owner}/{name}-moved")
    assert moved.json()["message"] == "Moved Permanently"
    assert moved.json()["url"] == moved.headers["Location"]
    deeper = api.get(f"/repos/{full_name}/branches/main", params={"per_page": 1})
    assert deeper.status_code == 301
    assert deeper.headers["Location"].endswith(f"/repos/{owner}/{name}-moved/branches/main?per_page=1")
    for method in ("PATCH", "DELETE"):
        answer = api(method, f"/repos/{full_name}", json={})
        assert answer.status_code == 307, method
        assert answer.headers["Location"].endswith(f"/repos/{owner}/{name}-moved")
    # PyGithub follows the 301, as for a repository renamed on GitHub.
    assert gh.get_repo(full_name).full_name == f"{owner}/{name}-moved"
    assert gh.get_repo(full_name).get_branch("main").name == "main"
    # Who may not read the repository learns nothing from its old name.
    assert api_as("carol").get(f"/repos/{full_name}").status_code == 404
    assert api_as(None).get(f"/repos/{full_name}").status_code == 404
    # A redirect is only for those who may read it; the old name taken over answers for the new repository.
    gh.get_user().create_repo(name)
    assert api.get(f"/repos/{full_name}").status_code == 200


def test_access_rules(gh, api, api_as, pushed_repo):
    private, _ = pushed_repo(private=True)
    public, _ = pushed_repo()
    carol, nobody = api_as("carol"), api_as(None)
    assert carol.get(f"/repos/{private}").status_code == 404
    assert carol.patch(f"/repos/{private}", json={"description": "x"}).status_code == 404
    assert carol.delete(f"/repos/{private}").status_code == 404
    assert carol.get(f"/repos/{public}").status_code == 200
    refused = carol.patch(f"/repos/{public}", json={"description": "x"})
    assert refused.status_code == 403
    assert refused.json()["message"] == "Must have admin rights to Repository."
    assert carol.delete(f"/repos/{public}").status_code == 403
    assert nobody.patch(f"/repos/{public}", json={"description": "x"}).status_code == 401
    assert nobody.delete(f"/repos/{public}").status_code == 401
    assert nobody.get(f"/repos/{private}").status_code == 404
    assert api.get(f"/repos/{public}").json()["description"] is None
    # bob (every scope, but no collaborator) may read the public one and change nothing.
    assert api_as("bob").delete(f"/repos/{public}").status_code == 403
    assert api.get(f"/repos/{public}").status_code == 200


def test_delete(gh, api, fresh_name):
    name = fresh_name()
    repo = gh.get_user().create_repo(name, auto_init=True)
    repo.delete()
    assert api.get(f"/repos/alice/{name}").status_code == 404
    with pytest.raises(UnknownObjectException):
        gh.get_repo(f"alice/{name}")
    again = gh.get_user().create_repo(name)
    assert again.get_branches().totalCount == 0
    deleted = api.delete(f"/repos/alice/{name}")
    assert deleted.status_code == 204 and deleted.content == b""
