"""A NUL in a request's path, query string or API JSON is refused with a 400 before anything looks it up
(on PostgreSQL an unchecked one was a 500: it refuses NUL in text), and nothing changes."""
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
                                 "/alice/proj/search?q=a%00b", "/api/v3/repos/alice/proj/issues?creator=x%00",
                                 "/alice/proj.git/info/refs?service=git-upload-pack%00"])
def test_nul_in_path_or_query_is_400(alice, url):
    response = Client().get(url)
    assert response.status_code == 400, (url, response.status_code)


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
