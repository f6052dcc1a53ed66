"""Attack: a page on another site makes the signed-in victim's browser post to Forge (CSRF).

Every route of the site (enumerated from forge.urls, so a route added later is covered, and an
unknown one fails the test until it is listed here) refuses a POST without a CSRF token, and the
database and the repository stores are left exactly as they were. The few routes that are exempt
by design are listed with the reason, and each one is proved not to act on a session cookie: the
API and git take tokens only, so a browser's cookie alone gets 401 there. The happy path (the same
posts with the token) is checked for a few forms so that the 403 is known to be the CSRF check.
"""
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client

from repos.models import Repository
from repos.selectors import store_path
from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.security.conftest import site_routes
from tests.support.gitcli import git

# Every route of the site, by name, with the URL a POST is tried at (alice's repository alice/proj,
# issue 1, pull request 2, comment C, token T, collaborator bob).
ROUTES = {
    "home": "/", "signup": "/signup", "login": "/login", "logout": "/logout",
    "account-settings": "/settings", "change-password": "/settings/password", "tokens": "/settings/tokens",
    "revoke-token": "/settings/tokens/{token}/revoke", "new-repository": "/new",
    "social:begin": "/oauth/login/github/", "social:disconnect": "/oauth/disconnect/github/",
    "social:disconnect_individual": "/oauth/disconnect/github/1/",
    "social:idp_launch": "/oauth/idp-launch/github/", "social:app_launch": "/oauth/app-launch/github/",
    "ops-health": "/-/health", "ops-metrics": "/-/metrics",
    "repo": "/alice/proj", "tree": "/alice/proj/tree/main", "blob": "/alice/proj/blob/main/README.md",
    "raw": "/alice/proj/raw/main/README.md", "blame": "/alice/proj/blame/main/README.md",
    "commits-default": "/alice/proj/commits", "commits": "/alice/proj/commits/main",
    "commit": "/alice/proj/commit/{sha}", "compare": "/alice/proj/compare/main...feature",
    "branches": "/alice/proj/branches", "tags": "/alice/proj/tags", "search": "/alice/proj/search",
    "archive": "/alice/proj/archive/main.zip", "profile": "/alice", "repo-git-url": "/alice/proj.git",
    "issues": "/alice/proj/issues", "issue-new": "/alice/proj/issues/new",
    "issue-labels": "/alice/proj/issues/labels", "issue": "/alice/proj/issues/1",
    "issue-comment": "/alice/proj/issues/1/comments",
    "issue-comment-edit": "/alice/proj/issues/1/comments/{comment}/edit",
    "issue-state": "/alice/proj/issues/1/state", "issue-set-labels": "/alice/proj/issues/1/labels",
    "issue-set-assignees": "/alice/proj/issues/1/assignees",
    "pulls": "/alice/proj/pulls", "pull-new": "/alice/proj/pulls/new?base=main&head=feature",
    "pull": "/alice/proj/pulls/2", "pull-commits": "/alice/proj/pulls/2/commits",
    "pull-files": "/alice/proj/pulls/2/files", "pull-comment": "/alice/proj/pulls/2/comments",
    "pull-line-comment": "/alice/proj/pulls/2/comments/line", "pull-state": "/alice/proj/pulls/2/state",
    "pull-merge": "/alice/proj/pulls/2/merge", "pull-review": "/alice/proj/pulls/2/reviews",
    "repo-settings": "/alice/proj/settings", "repo-settings-general": "/alice/proj/settings/general",
    "repo-settings-rename": "/alice/proj/settings/rename", "repo-settings-delete": "/alice/proj/settings/delete",
    "repo-settings-search-index": "/alice/proj/settings/search-index",
    "repo-settings-collaborators": "/alice/proj/settings/collaborators",
    "repo-settings-add-collaborator": "/alice/proj/settings/collaborators/add",
    "repo-settings-change-collaborator": "/alice/proj/settings/collaborators/bob/permission",
    "repo-settings-remove-collaborator": "/alice/proj/settings/collaborators/bob/remove",
}
# Exempt from the CSRF check by design, each with what protects it instead (tested below).
EXEMPT = {
    "git-info-refs": "/alice/proj.git/info/refs?service=git-receive-pack",
    "git-upload-pack": "/alice/proj.git/git-upload-pack",
    "git-receive-pack": "/alice/proj.git/git-receive-pack",
    # The OAuth callback arrives from GitHub's page; social-auth checks its `state` against the session.
    "social:complete": "/oauth/complete/github/",
}
# What a valid form would send, so a refusal is not a bad request in disguise.
FORM_DATA = {
    "signup": {"username": "newbie", "password": "a long pass phrase", "password_again": "a long pass phrase"},
    "login": {"username": "alice", "password": "pw-alice-secret"},
    "account-settings": {"email": "evil@example.com"},
    "change-password": {"old_password": "pw-alice-secret", "new_password1": "hacked pass phrase 1",
                        "new_password2": "hacked pass phrase 1"},
    "tokens": {"label": "stolen", "scopes": ["repo:read", "repo:write", "admin"], "expires": "none"},
    "new-repository": {"name": "planted", "visibility": "public", "default_branch": "main"},
    "repo-settings-general": {"description": "defaced", "visibility": "public", "default_branch": "main"},
    "repo-settings-rename": {"name": "renamed"},
    "repo-settings-delete": {"confirm": "alice/proj"},
    "repo-settings-add-collaborator": {"username": "mallory", "permission": "admin"},
    "repo-settings-change-collaborator": {"permission": "admin"},
    "issue-new": {"title": "planted", "body": "x"}, "issue-labels": {"name": "pwned", "color": "#ff0000"},
    "issue-comment": {"body": "planted"}, "issue-comment-edit": {"body": "defaced"},
    "issue-state": {"action": "close"}, "issue-set-labels": {"label": ["bug"]},
    "issue-set-assignees": {"assignees": "mallory"},
    "pull-new": {"title": "planted", "body": "x"}, "pull-comment": {"body": "planted"},
    "pull-line-comment": {"path": "README.md", "line": "1", "side": "RIGHT", "body": "planted"},
    "pull-state": {"action": "close"}, "pull-merge": {"method": "merge", "sha": "{head}", "message": "m"},
    "pull-review": {"state": "approved", "body": "lgtm"},
}


@pytest.fixture
def world(db, make_user, tmp_path):
    """alice/proj (main and feature), issue 1 with a comment, pull request 2, a label, bob a
    collaborator, a token of alice's."""
    from accounts.actor import user_actor
    from accounts.tokens import issue_token
    from issues import pulls, services
    from repos.models import Collaborator
    from repos.selectors import store_path
    from repos.services import create_repository
    alice, bob = make_user("alice", password="pw-alice-secret"), make_user("bob")
    make_user("mallory")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text("# proj\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "first")
    git("-C", work, "checkout", "-q", "-b", "feature")
    (work / "README.md").write_text("# proj\n\nmore\n")
    git("-C", work, "commit", "-q", "-am", "second")
    repo = create_repository(alice, "proj")
    (tmp_path / "scratch").mkdir()
    with RepoStore.open(store_path(repo)) as store:
        mirror(store, tmp_path / "scratch", work)
    Collaborator.objects.create(repository=repo, user=bob, permission="read")
    actor = user_actor(alice)
    issue = services.create_issue(actor, repo, "An issue", "body")
    comment = services.add_comment(actor, issue, "a comment")
    services.create_label(actor, repo, "bug")
    pull = pulls.open_pull_request(actor, repo, "main", "feature", "A pull request")
    token, _ = issue_token(alice, label="mine", scopes=["repo:read"])
    head = git("-C", work, "rev-parse", "feature").stdout.strip()
    return {"alice": alice, "token": token.pk, "comment": comment.pk, "sha": head, "head": head,
            "pull": pull.number}


def snapshot():
    """Every row of every model (sessions aside: signing in makes one) and every store file's bytes."""
    rows = {}
    for model in apps.get_models():
        if model._meta.db_table == "django_session":
            continue
        rows[model._meta.label] = sorted(map(repr, model.objects.values()))
    # What each registered repository's store holds (its refs), not its bytes: SQLite may checkpoint or
    # cache on reads. Registered ones only: the data directory is shared with the worker's other test
    # modules, whose leftovers are not this test's business; a planted repository would be a new row.
    stores = {}
    for repo in Repository.objects.all():
        path = store_path(repo)
        if Path(path).exists():
            with RepoStore.open(path) as store:
                stores[str(path)] = sorted(store.refs())
    return rows, stores


def browser_of(user=None):
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def fill(template, world):
    return template.format(**{k: v for k, v in world.items() if isinstance(v, (int, str))})


def test_every_route_is_known():
    names = set(site_routes())
    assert names - set(ROUTES) - set(EXEMPT) == set(), "a new route: add it to ROUTES (or EXEMPT, with why)"
    assert set(ROUTES) | set(EXEMPT) <= names, "a route in this test's list is gone from forge.urls"


def test_a_post_without_the_token_is_refused_and_changes_nothing(world):
    assert world["pull"] == 2
    # The owner's browser, and a browser signed in to nothing; each has its CSRF cookie, as a real
    # browser would: only the token in the form is missing.
    clients = [browser_of(world["alice"]), browser_of()]
    for client in clients:
        client.get("/")
    before = snapshot()
    for client in clients:
        for name, url in ROUTES.items():
            data = {k: fill(v, world) if isinstance(v, str) else v for k, v in FORM_DATA.get(name, {}).items()}
            response = client.post(fill(url, world), data)
            assert response.status_code == 403, (name, response.status_code)
            assert b"CSRF" in response.content, name
    assert_unchanged(before)


def assert_unchanged(before):
    after = snapshot()
    for part in (0, 1):
        for key in set(before[part]) | set(after[part]):
            assert before[part].get(key) == after[part].get(key), key


def test_with_the_token_the_same_forms_work(world):
    # The proof that the 403s above are the CSRF check, not a form that never works.
    client = browser_of(world["alice"])
    token = client.get("/alice/proj/issues/1").cookies["csrftoken"].value
    response = client.post("/alice/proj/issues/1/comments", {"body": "a real comment", "csrfmiddlewaretoken": token})
    assert response.status_code in (200, 302), response.status_code
    response = client.post("/new", {"name": "honest", "visibility": "public", "default_branch": "main",
                                    "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content[:500]
    response = client.post("/settings/tokens", {"label": "honest", "scopes": ["repo:read"], "expires": "30",
                                                "csrfmiddlewaretoken": token})
    assert response.status_code in (200, 302)
    anonymous = browser_of()
    token = anonymous.get("/login").cookies["csrftoken"].value
    response = anonymous.post("/login", {**FORM_DATA["login"], "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_the_api_ignores_the_session_cookie(world):
    client = browser_of(world["alice"])
    client.get("/")
    before = snapshot()
    assert client.get("/api/v3/user").status_code == 401
    writes = [("post", "/api/v3/user/repos", {"name": "planted"}),
              ("post", "/api/v3/repos/alice/proj/issues", {"title": "planted"}),
              ("patch", "/api/v3/repos/alice/proj", {"description": "defaced"}),
              ("put", "/api/v3/repos/alice/proj/contents/planted.txt", {"message": "m", "content": "eA=="}),
              ("delete", "/api/v3/repos/alice/proj", None)]
    for method, url, body in writes:
        response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code in (401, 404), (method, url, response.status_code)
    assert_unchanged(before)


def test_git_ignores_the_session_cookie(world):
    """git's endpoints are CSRF-exempt (git sends no CSRF token), so they must not take a browser's
    session as credentials: a page elsewhere could otherwise push (fetch() with no-cors sends any bytes)."""
    client = browser_of(world["alice"])
    client.get("/")
    before = snapshot()
    refs = client.get(EXEMPT["git-info-refs"])
    assert refs.status_code == 401, refs.status_code
    # A push-to-create into alice's namespace, and a push to her repository: an empty pkt-line flush.
    for url in ("/alice/planted.git/git-receive-pack", EXEMPT["git-receive-pack"]):
        response = client.post(url, b"0000", content_type="application/x-git-receive-pack-request")
        assert response.status_code == 401, (url, response.status_code)
    assert_unchanged(before)


def test_the_oauth_callback_needs_its_state(world):
    # Exempt from CSRF, and without a started flow (no state in the session) it signs no one in.
    client = browser_of()
    response = client.get(EXEMPT["social:complete"] + "?code=stolen&state=forged")
    assert response.status_code in (302, 400, 404)
    assert client.get("/settings").status_code == 302  # still anonymous
