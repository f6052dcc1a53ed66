"""/user, /users/{username} and /rate_limit, through PyGithub as scripts use it."""
from github import GithubException


def test_pygithub_reads_a_user(gh, api_as):
    bob = gh.get_user("bob")
    assert bob.login == "bob"
    assert bob.type == "User"
    assert bob.url.endswith("/api/v3/users/bob")
    assert bob.html_url.endswith("/bob")
    assert bob.node_id and bob.avatar_url == "" and bob.site_admin is False
    assert bob.public_repos >= 0
    assert bob.created_at is not None
    # Someone else's account address is not shown (GitHub shows only a public e-mail).
    assert bob.email is None
    assert api_as(None).get("/users/bob").status_code == 200


def test_unknown_user_is_404(gh, api):
    try:
        gh.get_user("no-such-person-here").login
    except GithubException as error:
        assert error.status == 404
    else:
        raise AssertionError("expected 404")
    assert api.get("/users/no-such-person-here").json()["message"] == "Not Found"


def test_public_repos_counts_public_ones_only(gh, api_as, pushed_repo):
    before = api_as(None).get("/users/alice").json()["public_repos"]
    pushed_repo(private=True)
    pushed_repo()
    assert gh.get_user("alice").public_repos == before + 1


def test_edit_name_and_email_through_pygithub(gh, api):
    me = gh.get_user()
    me.edit(name="Alice Liddell", email="alice@example.org")
    assert me.name == "Alice Liddell"
    again = api.get("/user").json()
    assert again["name"] == "Alice Liddell"
    assert again["email"] == "alice@example.org"  # one's own address is shown to oneself
    assert api.get("/users/alice").json()["name"] == "Alice Liddell"
    # Fields Forge does not keep are accepted and ignored.
    me.edit(name="Alice", bio="hello", blog="https://example.org")
    assert gh.get_user().name == "Alice"


def test_edit_refuses_bad_input_and_changes_nothing(api, api_as):
    before = api.get("/user").json()
    answer = api.patch("/user", json={"name": "New Name", "email": "not an address"})
    assert answer.status_code == 422
    assert answer.json()["message"] == "Validation Failed"
    assert answer.json()["errors"][0]["field"] == "email"
    assert api.get("/user").json()["name"] == before["name"]
    assert api.patch("/user", json={"name": "x" * 151}).status_code == 422
    assert api.patch("/user", data="{not json", headers={"Content-Type": "application/json"}).status_code == 400


def test_edit_needs_authentication_and_the_admin_scope(api_as):
    assert api_as(None).patch("/user", json={"name": "x"}).status_code == 401
    assert api_as(None).get("/user").status_code == 401
    answer = api_as("carol").patch("/user", json={"name": "Carol"})  # carol's token: repo:read only
    assert answer.status_code == 403
    assert api_as("carol").get("/user").json()["name"] != "Carol"


def test_rate_limit_through_pygithub(gh, api_as):
    limits = gh.get_rate_limit()
    assert limits.resources.core.limit == limits.resources.core.remaining > 0
    assert limits.resources.search.remaining > 0
    assert limits.resources.code_search.limit > 0
    assert limits.rate.limit == limits.resources.core.limit
    # Anonymous callers get the same honest, never-spent budget, and the headers.
    answer = api_as(None).get("/rate_limit")
    assert answer.status_code == 200
    assert int(answer.headers["X-RateLimit-Remaining"]) == int(answer.headers["X-RateLimit-Limit"]) > 0
    assert int(answer.headers["X-RateLimit-Reset"]) > 0
