"""The API fixtures work: PyGithub against the live server, raw HTTP, pushed repositories."""


def test_pygithub_reads_user_and_repository(gh, pushed_repo):
    full_name, _ = pushed_repo()
    assert gh.get_user().login == "alice"
    repo = gh.get_repo(full_name)
    assert repo.full_name == full_name
    assert repo.default_branch == "main"
    assert repo.permissions.push is True


def test_errors_are_githubs(api):
    answer = api.get("/repos/alice/no-such-repository")
    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"
    assert "documentation_url" in answer.json()
