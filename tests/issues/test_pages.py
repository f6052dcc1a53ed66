"""The issue pages through the whole middleware stack with Django's test client."""
import re

import pytest
from django.test import Client

from issues import services
from issues.models import Comment, Issue, Label
from tests.issues.conftest import actor_named

BASE = "/alice/proj/issues"


def client_for(people, name, **options):
    client = Client(**options)
    client.force_login(people[name])
    return client


@pytest.fixture
def issue(people):
    owner = actor_named(people, "owner")
    services.create_label(owner, people["proj"], "bug", "#d73a4a")
    return services.create_issue(actor_named(people, "reader"), people["proj"], "Crash <b>here</b>",
                                 "Broken since @carol's change, see #1")


def snapshot():
    return (list(Issue.objects.values_list("number", "title", "state")), list(Comment.objects.values_list("body")),
            list(Label.objects.values_list("name")))


def test_list_tabs_counts_filters_and_escaping(people, issue):
    services.create_issue(actor_named(people, "owner"), people["proj"], "Closed one")
    services.close_issue(actor_named(people, "owner"), Issue.objects.get(number=2))
    page = Client().get(BASE).content.decode()
    assert "1 Open" in page and "1 Closed" in page
    assert "Crash &lt;b&gt;here&lt;/b&gt;" in page and "<b>here" not in page
    assert "Closed one" not in page
    assert "Closed one" in Client().get(BASE + "?state=closed").content.decode()
    assert "Crash" not in Client().get(BASE + "?author=carol").content.decode().split("issue-list")[1]
    assert "Crash" in Client().get(BASE + "?q=crash&author=BOB").content.decode().split("issue-list")[1]
    assert 'href="/alice/proj/issues/new"' not in page        # anonymous: no button


def test_list_paginates_by_25(people):
    owner = actor_named(people, "owner")
    for n in range(27):
        services.create_issue(owner, people["proj"], f"issue {n}")
    first = Client().get(BASE).content.decode()
    assert first.count('class="issue-row') == 25 and 'href="/alice/proj/issues?page=2"' in first
    second = Client().get(BASE + "?page=2").content.decode()
    assert second.count('class="issue-row') == 2 and "issue 0" in second


def test_create_with_post_redirect_get(people):
    client = client_for(people, "mallory")
    form = client.get(BASE + "/new").content.decode()
    assert 'name="csrfmiddlewaretoken"' in form
    response = client.post(BASE + "/new", {"title": "Hello", "body": "**bold**"})
    assert response.status_code == 302 and response["Location"] == BASE + "/1"
    page = client.get(response["Location"]).content.decode()
    assert "<strong>bold</strong>" in page and "Opened issue #1." in page


def test_invalid_input_shows_the_form_again(people):
    response = client_for(people, "mallory").post(BASE + "/new", {"title": "  ", "body": "kept"})
    assert response.status_code == 400 and "A title is required." in response.content.decode()
    assert "kept</textarea>" in response.content.decode() and Issue.objects.count() == 0


def test_anonymous_is_sent_to_sign_in(people, issue):
    assert Client().get(BASE + "/new")["Location"] == "/login?next=%2Falice%2Fproj%2Fissues%2Fnew"
    response = Client().post(f"{BASE}/1/comments", {"body": "hi"})
    assert response.status_code == 302 and response["Location"].startswith("/login?")
    assert Comment.objects.count() == 0


def test_csrf_is_enforced_on_every_form(people, issue):
    client = client_for(people, "alice", enforce_csrf_checks=True)
    before = snapshot()
    for url, data in [(BASE + "/new", {"title": "x"}), (f"{BASE}/1/comments", {"body": "x"}),
                      (f"{BASE}/1/state", {"action": "close"}), (f"{BASE}/1/labels", {"label": "bug"}),
                      (f"{BASE}/1/assignees", {"assignees": "bob"}), (BASE + "/labels", {"name": "x"})]:
        assert client.post(url, data).status_code == 403, url
    assert snapshot() == before


def test_get_changes_nothing(people, issue):
    client = client_for(people, "alice")
    before = snapshot()
    for url in (f"{BASE}/1/comments", f"{BASE}/1/state?action=close", f"{BASE}/1/labels?label=bug",
                f"{BASE}/1/assignees?assignees=bob"):
        assert client.get(url).status_code == 405, url
    assert snapshot() == before


def test_private_repository_issues_are_404_to_strangers(people):
    services.create_issue(actor_named(people, "owner"), people["secret"], "Secret plan")
    for client in (Client(), client_for(people, "mallory")):
        for url in ("/alice/secret/issues", "/alice/secret/issues/1", "/alice/secret/issues/new",
                    "/alice/secret/issues/labels"):
            assert client.get(url).status_code == 404, url
        assert client.post("/alice/secret/issues/1/comments", {"body": "x"}).status_code == 404
    assert "Secret plan" in client_for(people, "bob").get("/alice/secret/issues").content.decode()


def test_a_reader_may_comment_but_not_triage(people, issue):
    client = client_for(people, "bob")
    page = client.get(f"{BASE}/1").content.decode()
    assert "Set labels" not in page and "Set assignees" not in page
    assert 'name="action" value="close"' in page                       # bob opened it
    other = services.create_issue(actor_named(people, "owner"), people["proj"], "alice's")
    assert 'value="close"' not in client.get(f"{BASE}/{other.number}").content.decode()
    assert client.post(f"{BASE}/{other.number}/state", {"action": "close"}).status_code == 403
    assert client.post(f"{BASE}/1/labels", {"label": "bug"}).status_code == 403
    assert client.post(f"{BASE}/1/comments", {"body": "me too"}).status_code == 302


def test_triage_forms(people, issue):
    client = client_for(people, "carol")
    assert "Set labels" in client.get(f"{BASE}/1").content.decode()
    assert client.post(f"{BASE}/1/labels", {"label": ["bug"]}).status_code == 302
    assert client.post(f"{BASE}/1/assignees", {"assignees": "bob, carol"}).status_code == 302
    page = client.get(f"{BASE}/1").content.decode()
    assert "added the" in page and "assigned <a href=\"/bob\">bob</a>" in page
    response = client.post(f"{BASE}/1/assignees", {"assignees": "nobody"}, follow=True)
    assert "No such user: nobody." in response.content.decode()


def test_references_in_the_issue_page(people, issue, small_git):
    sha = small_git[1][0]
    services.add_comment(actor_named(people, "owner"), issue, f"Fixed by {sha[:8]}, thanks @bob; not @ghost or #9")
    page = Client().get(f"{BASE}/1").content.decode()
    assert '<a href="/carol" class="user-mention">@carol</a>' in page
    assert '<a href="/alice/proj/issues/1" class="issue-link">#1</a>' in page
    assert f'<a href="/alice/proj/commit/{sha}" class="commit-link" title="{sha[:8]}">{sha[:7]}</a>' in page
    assert "@ghost or #9" in page


def test_pull_numbers_link_and_redirect_to_pulls(people, issue):
    services.create_issue(actor_named(people, "owner"), people["proj"], "A pull", kind=Issue.PULL)
    services.add_comment(actor_named(people, "owner"), issue, "see #2")
    assert '<a href="/alice/proj/pulls/2" class="issue-link">#2</a>' in Client().get(f"{BASE}/1").content.decode()
    assert Client().get(f"{BASE}/2")["Location"] == "/alice/proj/pulls/2"


def test_edit_own_comment_only(people, issue):
    comment = services.add_comment(actor_named(people, "reader"), issue, "tpyo")
    url = f"{BASE}/1/comments/{comment.pk}/edit"
    assert client_for(people, "carol").get(url).status_code == 403
    assert client_for(people, "carol").post(url, {"body": "hijack"}).status_code == 403
    bob = client_for(people, "bob")
    assert f'href="{url}"' in bob.get(f"{BASE}/1").content.decode()
    assert bob.post(url, {"body": ""}).status_code == 400
    assert bob.post(url, {"body": "typo"})["Location"] == f"{BASE}/1#comment-{comment.pk}"
    comment.refresh_from_db()
    assert comment.body == "typo" and comment.edited
    assert "(edited)" in bob.get(f"{BASE}/1").content.decode()


def test_htmx_comment_answers_the_fragment(people, issue):
    client = client_for(people, "mallory")
    response = client.post(f"{BASE}/1/comments", {"body": "via <script>htmx</script>"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div class="comment" id="comment-') and "<html" not in html
    assert "&lt;script&gt;htmx&lt;/script&gt;" in html
    empty = client.post(f"{BASE}/1/comments", {"body": " "}, HTTP_HX_REQUEST="true")
    assert empty["HX-Retarget"] == "#comment-errors" and "Write something first." in empty.content.decode()
    assert Comment.objects.count() == 1


def test_htmx_close_answers_the_state_fragment_and_the_event(people, issue):
    response = client_for(people, "alice").post(f"{BASE}/1/state", {"action": "close"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.startswith('<div id="issue-state"') and "Reopen issue" in html
    assert 'hx-swap-oob="beforeend"' in html and "closed this" in html
    assert Issue.objects.get(number=1).state == "closed"
    page = client_for(people, "alice").get(f"{BASE}/1").content.decode()
    assert "htmx.min.js" in page and 'hx-post="/alice/proj/issues/1/comments"' in page


def test_labels_page(people, issue):
    client = client_for(people, "carol")
    assert client.post(BASE + "/labels", {"name": "ui", "color": "#00ff00"}).status_code == 302
    bad = client.post(BASE + "/labels", {"name": "UI", "color": "#00ff00"})
    assert bad.status_code == 400 and "already exists" in bad.content.decode()
    assert "Create label" not in client_for(people, "bob").get(BASE + "/labels").content.decode()
    assert client_for(people, "bob").post(BASE + "/labels", {"name": "x", "color": "#000000"}).status_code == 403


def test_agent_pages_with_token(people, issue):
    from accounts.tokens import issue_token
    _, with_scope = issue_token(people["carol"], label="a", scopes=["repo:read", "issues:write"])
    _, without = issue_token(people["carol"], label="b", scopes=["repo:read"])
    ok = Client().post(f"{BASE}/1/comments", {"body": "from an agent"}, HTTP_AUTHORIZATION=f"Bearer {with_scope}")
    assert ok.status_code == 302
    refused = Client().post(f"{BASE}/1/comments", {"body": "no"}, HTTP_AUTHORIZATION=f"Bearer {without}")
    assert refused.status_code == 403
    assert list(Comment.objects.values_list("body", flat=True)) == ["from an agent"]


def test_markdown_for_agents(people, issue):
    listing = Client().get(BASE + "?format=md")
    assert listing["Content-Type"].startswith("text/markdown")
    assert "| 1 | Crash <b>here</b> | bob |" in listing.content.decode()
    detail = Client().get(f"{BASE}/1", HTTP_ACCEPT="text/markdown").content.decode()
    assert detail.startswith("# Crash <b>here</b> (#1, open)") and "Broken since @carol's change" in detail


def test_unknown_issue_is_404(people):
    assert Client().get(BASE + "/7").status_code == 404
    assert re.match(r"^4", str(Client().get(BASE + "/0").status_code))
