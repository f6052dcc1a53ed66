"""A NUL in a request's path, query string or API JSON never reaches a database lookup (on PostgreSQL an
unchecked one was a 500: it refuses NUL in text), and a refused write changes nothing."""
import json

import pytest
from django.test import Client

from accounts.tokens import issue_token
from issues.models import Issue
from repos.services import create_repository


@pytest.fixture
def alice(make_user):
    user = make_user("alice")
    create_repository(user, "proj")
    return user


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/alice/a\x00b", "/alice/proj/tree/main/a%00b", "/alice%00/proj",
                                 "/api/v3/repos/alice/proj/contents/a%00b", "/api/v3/users/a%00"])
def test_a_path_with_nul_names_nothing(alice, url):
    response = Client().get(url)
    assert response.status_code == 404, (url, response.status_code)
    if url.startswith("/api/"):
        assert response.json()["message"] == "Not Found"


@pytest.mark.django_db
def test_an_api_write_to_a_path_with_nul_is_422(alice):
    token = issue_token(alice, label="t", scopes={"repo:read", "repo:write"})[1]
    response = Client(HTTP_AUTHORIZATION=f"token {token}").put(
        "/api/v3/repos/alice/proj/contents/a%00b", json.dumps({"message": "m", "content": "eA=="}),
        content_type="application/json")
    assert response.status_code == 422 and "NUL" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v3/repos/alice/proj/issues?creator=x%00", "/api/v3/search/code?q=a%00b"])
def test_an_api_query_with_nul_is_422(alice, url):
    response = Client().get(url)
    assert response.status_code == 422, (url, response.status_code)
    assert "NUL" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/alice/proj/search?q=a%00b", "/alice/proj/issues?author=x%00&label=%00",
                                 "/alice/proj/pulls?author=%00", "/login?next=%00//evil.com"])
def test_a_page_query_loses_its_nuls(alice, url):
    response = Client().get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert b"\x00" not in response.content


@pytest.mark.django_db
def test_nul_in_api_json_is_400_and_changes_nothing(alice):
    token = issue_token(alice, label="t", scopes={"repo:read", "repo:write", "issues:write"})[1]
    client = Client(HTTP_AUTHORIZATION=f"token {token}")
    for body in ({"title": "a\x00b"}, {"title": "ok", "body": "x\x00"}, {"title": "ok", "labels": ["\x00"]},
                 {"title": "ok", "\x00": 1}):
        response = client.post("/api/v3/repos/alice/proj/issues", json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (body, response.status_code)
        assert response.json()["message"] == "Problems parsing JSON"
    assert not Issue.objects.exists()
    good = client.post("/api/v3/repos/alice/proj/issues", json.dumps({"title": "fine"}), content_type="application/json")
    assert good.status_code == 201
