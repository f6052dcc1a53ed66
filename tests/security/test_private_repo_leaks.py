"""Attack: learn anything about a private repository one may not read — its content, its existence,
its new name after a rename — through any route: pages, raw files, archives, blame, compare, search,
issues and pull requests, the API, git.

Every site route (enumerated from forge.urls; a new route fails the test until listed here) and
every API operation (enumerated from openapi.json) is asked about carol/hushhush (private) by an
anonymous caller, by the signed-in stranger mallory and with mallory's token (all scopes), and the
answer must be the one a repository that does not exist gets (carol/nothere): same status (404 for
pages), no content. The same requests on carol/open — a public copy of the same content, issues and
pull requests — do reach their views, which shows that the routes are exercised and not merely
404ing for bad parameters.
"""
import re

import pytest
from django.apps import apps
from django.test import Client

from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.security.conftest import site_routes
from tests.support.gitcli import git

MARK = "zanzibarquux"  # in the private repository's files, commit messages, issues and comments
PRIVATE, PUBLIC, MISSING, OLD, RENAMED = "hushhush", "open", "nothere", "oldhush", "newhush"

# Site routes on a repository, by name, with REPO for carol/NAME. Routes not about one repository are
# in ELSEWHERE, with what the test checks there (the private name and content are never shown).
REPO_ROUTES = {
    "git-info-refs": "/REPO.git/info/refs?service=git-upload-pack", "repo-git-url": "/REPO.git",
    "repo": "/REPO", "tree": "/REPO/tree/main/docs", "blob": "/REPO/blob/main/README.md",
    "raw": "/REPO/raw/main/README.md", "blame": "/REPO/blame/main/README.md",
    "commits-default": "/REPO/commits", "commits": "/REPO/commits/main/README.md",
    "commit": "/REPO/commit/{sha}", "compare": "/REPO/compare/main...feature",
    "branches": "/REPO/branches", "tags": "/REPO/tags", "search": "/REPO/search?q=plans",
    "archive": "/REPO/archive/main.tar.gz", "issues": "/REPO/issues", "issue-new": "/REPO/issues/new",
    "issue-labels": "/REPO/issues/labels", "issue": "/REPO/issues/1", "issue-comment-edit":
    "/REPO/issues/1/comments/{comment}/edit", "pulls": "/REPO/pulls",
    "pull-new": "/REPO/pulls/new?base=main&head=feature", "pull": "/REPO/pulls/2",
    "pull-commits": "/REPO/pulls/2/commits", "pull-files": "/REPO/pulls/2/files",
    "repo-settings": "/REPO/settings", "repo-settings-collaborators": "/REPO/settings/collaborators",
}
# Routes that only take POST: asked with POST (a form's fields; CSRF is off for this test's client).
REPO_POSTS = {
    "git-upload-pack": "/REPO.git/git-upload-pack", "git-receive-pack": "/REPO.git/git-receive-pack",
    "issue-comment": "/REPO/issues/1/comments", "issue-state": "/REPO/issues/1/state",
    "issue-set-labels": "/REPO/issues/1/labels", "issue-set-assignees": "/REPO/issues/1/assignees",
    "pull-comment": "/REPO/pulls/2/comments", "pull-line-comment": "/REPO/pulls/2/comments/line",
    "pull-state": "/REPO/pulls/2/state", "pull-merge": "/REPO/pulls/2/merge",
    "pull-review": "/REPO/pulls/2/reviews", "repo-settings-general": "/REPO/settings/general",
    "repo-settings-rename": "/REPO/settings/rename", "repo-settings-delete": "/REPO/settings/delete",
    "repo-settings-search-index": "/REPO/settings/search-index",
    "repo-settings-add-collaborator": "/REPO/settings/collaborators/add",
    "repo-settings-change-collaborator": "/REPO/settings/collaborators/bob/permission",
    "repo-settings-remove-collaborator": "/REPO/settings/collaborators/bob/remove",
}
ELSEWHERE = {
    "home": "/", "profile": "/carol", "signup": "/signup", "login": "/login", "logout": "/logout",
    "account-settings": "/settings", "change-password": "/settings/password", "tokens": "/settings/tokens",
    "revoke-token": None, "new-repository": "/new", "social:begin": None, "social:complete": None,
    "social:disconnect": None, "social:disconnect_individual": None, "social:idp_launch": None,
    "social:app_launch": None, "ops-health": "/-/health", "ops-metrics": "/-/metrics",
}


@pytest.fixture
def world(db, make_user, tmp_path):
    from accounts.actor import user_actor
    from accounts.tokens import issue_token
    from issues import pulls, services
    from repos import search
    from repos import services as repo_services
    from repos.models import Collaborator
    from repos.selectors import store_path
    carol, mallory, bob = make_user("carol"), make_user("mallory"), make_user("bob")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "docs").mkdir()
    (work / "README.md").write_text(f"# {MARK}\n\nThe {MARK} plans.\n")
    (work / "docs" / "README.md").write_text(f"{MARK} docs\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", f"{MARK} first")
    git("-C", work, "tag", "-a", "v1", "-m", f"{MARK} tag")
    git("-C", work, "checkout", "-q", "-b", "feature")
    (work / "README.md").write_text(f"# {MARK}\n\nMore {MARK}.\n")
    git("-C", work, "commit", "-q", "-am", f"{MARK} second")
    actor = user_actor(carol)
    world = {"sha": git("-C", work, "rev-parse", "main").stdout.strip(), "comments": {}}
    for index, (name, private) in enumerate([(PRIVATE, True), (PUBLIC, False), (OLD, True)]):
        repo = repo_services.create_repository(carol, name, private=private)
        (tmp_path / f"scratch{index}").mkdir()
        with RepoStore.open(store_path(repo)) as store:
            mirror(store, tmp_path / f"scratch{index}", work)
        repo_services.mark_pushed(repo, "main")
        search.rebuild(repo)
        Collaborator.objects.create(repository=repo, user=bob, permission="read")
        issue = services.create_issue(actor, repo, f"{MARK} issue", f"{MARK} body")
        world["comments"][name] = services.add_comment(actor, issue, f"{MARK} comment").pk
        services.create_label(actor, repo, "bug")
        pulls.open_pull_request(actor, repo, "main", "feature", f"{MARK} pull")
        if name == OLD:
            repo_services.rename_repository(repo, RENAMED)
    world["comments"][MISSING] = world["comments"][PRIVATE]
    world["comments"][OLD] = world["comments"][PRIVATE]
    _, token = issue_token(mallory, label="stranger", scopes=["repo:read", "repo:write", "issues:write",
                                                               "pulls:merge", "admin"])
    _, owner_token = issue_token(carol, label="owner", scopes=["repo:read"])
    world.update(mallory=mallory, carol=carol, token=token, owner_token=owner_token)
    return world


def strangers(world):
    signed_in = Client()
    signed_in.force_login(world["mallory"])
    return {"anonymous": (Client(), {}), "session": (signed_in, {}),
            "token": (Client(), {"HTTP_AUTHORIZATION": f"token {world['token']}"})}


def url(template, name, world):
    return template.replace("REPO", f"carol/{name}").format(sha=world["sha"], comment=world["comments"][name])


def leaks(response, name):
    """The private name or content in an answer (the echo of the URL asked for aside)."""
    body = response.content.decode("utf-8", "replace")
    body = re.sub(rf"carol(/|%2F){name}\b", "", body)  # a sign-in link's ?next= repeats the URL
    found = [word for word in (MARK, RENAMED) if word in body or word in response.get("Location", "")]
    return found


VOLATILE = {"last_login", "last_used_at"}  # signing in and using a token touch these, and nothing else may change


def snapshot():
    return {m._meta.label: sorted(repr({k: v for k, v in row.items() if k not in VOLATILE})
                                  for row in m.objects.values())
            for m in apps.get_models() if m._meta.db_table != "django_session"}


def test_every_site_route_is_known():
    names = set(site_routes())
    known = set(REPO_ROUTES) | set(REPO_POSTS) | set(ELSEWHERE)
    assert names - known == set(), "a new route: add it to REPO_ROUTES, REPO_POSTS or ELSEWHERE"
    assert known <= names


def test_site_routes_hide_the_private_repository(world):
    before = snapshot()
    callers = strangers(world)
    reached = []
    for route, template in list(REPO_ROUTES.items()) + list(REPO_POSTS.items()):
        method = "post" if route in REPO_POSTS else "get"
        for who, (client, headers) in callers.items():
            answers = {name: getattr(client, method)(url(template, name, world), **headers)
                       for name in (PRIVATE, MISSING, OLD)}
            status = {name: answer.status_code for name, answer in answers.items()}
            assert status[PRIVATE] == status[MISSING] == status[OLD], (route, who, status)
            if not route.startswith("git-") and route != "repo-git-url":  # OWNER/NAME.git -> OWNER/NAME for all
                assert status[PRIVATE] == 404, (route, who, status)
            for name, answer in answers.items():
                assert leaks(answer, name) == [], (route, who, name)
    assert snapshot() == before, "a refused request changed something"
    # The owner reaches the same routes on the public copy (reads may refresh caches, hence after).
    owner = Client()
    owner.force_login(world["carol"])
    for route, template in REPO_ROUTES.items():
        git_auth = {"HTTP_AUTHORIZATION": f"token {world['owner_token']}"} if route.startswith("git-") else {}
        answer = owner.get(url(template, PUBLIC, world), **git_auth)
        assert answer.status_code in (200, 301, 302), (route, answer.status_code)
        reached.append(route)
    assert len(reached) == len(REPO_ROUTES)


def test_the_rest_of_the_site_does_not_mention_it(world):
    for who, (client, headers) in strangers(world).items():
        for route, path in ELSEWHERE.items():
            if path is None:
                continue  # OAuth: no content of anyone's; revoke-token: one's own tokens only
            answer = client.get(path, **headers)
            assert answer.status_code < 500, (route, who)
            body = answer.content.decode()
            assert PRIVATE not in body and RENAMED not in body and MARK not in body, (route, who)
    owner = Client()
    owner.force_login(world["carol"])
    assert PRIVATE in owner.get("/carol").content.decode()  # the list does show it to its owner


def test_the_old_name_of_a_renamed_private_repository_reveals_nothing(world):
    for who, (client, headers) in strangers(world).items():
        for path in (f"/carol/{OLD}", f"/carol/{OLD}/tree/main", f"/api/v3/repos/carol/{OLD}",
                     f"/carol/{OLD}.git/info/refs?service=git-upload-pack"):
            answer = client.get(path, **headers)
            assert answer.status_code in (401, 404), (who, path, answer.status_code)
            assert RENAMED not in answer.content.decode() and RENAMED not in answer.get("Location", "")
    owner = Client()
    owner.force_login(world["carol"])
    assert owner.get(f"/carol/{OLD}")["Location"].endswith(f"/carol/{RENAMED}")  # the redirect exists


# --- the API ------------------------------------------------------------------------------------------------------

def api_operations():
    client = Client()
    document = client.get("/api/v3/openapi.json").json()
    for path, operations in document["paths"].items():
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method


def fill(path, name, world):
    values = {"owner": "carol", "repo": name, "branch": "main", "sha": world["sha"], "path": "README.md",
              "dir": "docs", "basehead": "main...feature", "name": "bug", "username": "carol",
              "comment_id": str(world["comments"][name]),
              "ref": "heads/main" if "/git/" in path else "main",
              "number": "2" if "/pulls/" in path else "1"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


BODIES = {"post": {"title": "x", "body": "x", "name": "x", "ref": "refs/heads/x", "sha": "0" * 40},
          "patch": {"title": "x", "description": "x", "sha": "0" * 40},
          "put": {"message": "x", "content": "eA==", "sha": "0" * 40}, "delete": {"message": "x", "sha": "0" * 40}}


def test_every_api_operation_hides_the_private_repository(world):
    before = snapshot()
    callers = strangers(world)
    repo_operations, reached = 0, []
    owner = Client()
    for path, method in api_operations():
        if "{repo}" not in path:
            continue
        repo_operations += 1
        for who, (client, headers) in callers.items():
            answers = {}
            for name in (PRIVATE, MISSING, OLD):
                kwargs = {"content_type": "application/json", "data": BODIES[method]} if method != "get" else {}
                answers[name] = getattr(client, method)(fill(path, name, world), **kwargs, **headers)
            status = {name: answer.status_code for name, answer in answers.items()}
            assert status[PRIVATE] == status[MISSING] == status[OLD], (method, path, who, status)
            assert status[PRIVATE] in (401, 404, 422), (method, path, who, status)
            messages = {name: answer.json().get("message") for name, answer in answers.items()}
            assert messages[PRIVATE] == messages[MISSING], (method, path, who, messages)
            for name, answer in answers.items():
                assert leaks(answer, name) == [], (method, path, who, name)
    assert snapshot() == before, "a refused API call changed something"
    for path, method in api_operations():
        if method == "get" and "{repo}" in path:
            answer = owner.get(fill(path, PUBLIC, world), HTTP_AUTHORIZATION=f"token {world['owner_token']}")
            if answer.status_code == 200:
                reached.append(path)
    assert repo_operations > 40
    gets = {p for p, m in api_operations() if m == "get" and "{repo}" in p}
    # Every read reaches its view on the public copy; a few need an object id of another kind, and
    # GET pulls/N/merge is GitHub's 404 for "not merged".
    unreached = gets - set(reached)
    assert unreached <= {"/api/v3/repos/{owner}/{repo}/git/blobs/{sha}", "/api/v3/repos/{owner}/{repo}/git/trees/{sha}",
                         "/api/v3/repos/{owner}/{repo}/git/tags/{sha}",
                         "/api/v3/repos/{owner}/{repo}/pulls/{number}/merge"}, unreached


def test_search_never_counts_private_content(world):
    owner_headers = {"HTTP_AUTHORIZATION": f"token {world['owner_token']}"}
    queries = [f"/api/v3/search/code?q={MARK}", f"/api/v3/search/commits?q={MARK}",
               f"/api/v3/search/code?q={MARK}+repo:carol/{PRIVATE}", f"/api/v3/search/code?q={MARK}+user:carol",
               f"/api/v3/search/commits?q={MARK}+repo:carol/{PRIVATE}", "/api/v3/users/carol/repos",
               "/api/v3/user/repos"]
    owner_view = Client().get(queries[0], **owner_headers).json()
    assert any(item["repository"]["name"] == PRIVATE for item in owner_view["items"])  # the index has it
    for who, (client, headers) in strangers(world).items():
        for query in queries:
            answer = client.get(query, **headers)
            body = answer.content.decode()
            assert PRIVATE not in body and RENAMED not in body, (who, query)
            if answer.status_code == 200 and "total_count" in answer.json():
                items = answer.json()["items"]
                counted = answer.json()["total_count"]
                assert counted == len([i for i in items if i["repository"]["name"] == PUBLIC]) or counted == len(items)
                assert all(item["repository"]["name"] == PUBLIC for item in items), (who, query)
        # The public copy's search page finds its own content only.
        page = client.get(f"/carol/{PUBLIC}/search?q={MARK}", **headers).content.decode()
        assert PRIVATE not in page
