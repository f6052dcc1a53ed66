"""Search on a live Forge, over real HTTP after real pushes: results follow each push at once,
come as HTML, Markdown and JSON, link to the lines they found, and a private repository's content
never reaches anyone who may not read it, in any format."""
import json
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from tests.support import servers
from tests.support.gitcli import git


def fetch(server, path, token=None, accept=None):
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _commit(work, files, message):
    for path, text in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("search-live"))
    try:
        owner = server.token("alice")
        stranger = server.token("bob")
        work = tmp_path_factory.mktemp("search-src")
        git("init", "-q", "-b", "main", work)
        _commit(work, {"src/app.py": "def handle_request(req):\n    return 'ok'\n",
                       "README.md": "# Open\n\nA public_marker_word lives here.\n"}, "Start")
        git("-C", work, "push", "-q", server.repo_url("alice", "open", owner), "main")
        secret = tmp_path_factory.mktemp("secret-src")
        git("init", "-q", "-b", "main", secret)
        _commit(secret, {"keys.txt": "zebra_secret_token = 'do not show'\n"}, "Secret")
        server.createrepo("alice/secret", private=True)
        git("-C", secret, "push", "-q", server.repo_url("alice", "secret", owner), "main")
        yield server, work, owner, stranger
    finally:
        server.stop()


def test_results_in_every_format_link_to_their_lines(served):
    server, work, owner, _ = served
    status, html = fetch(server, "/alice/open/search?q=handle_request")
    assert status == 200
    assert 'href="/alice/open/blob/main/src/app.py#L1"' in html and "<mark>handle_request</mark>" in html
    status, body = fetch(server, "/alice/open/search?q=handle_request", accept="application/json")
    data = json.loads(body)
    assert status == 200 and data["total_files"] == 1
    line = data["files"][0]["lines"][0]
    assert data["files"][0]["path"] == "src/app.py" and line["number"] == 1
    assert line["url"] == "/alice/open/blob/main/src/app.py#L1"
    assert line["text"][line["spans"][0][0]:line["spans"][0][1]] == "handle_request"
    status, md = fetch(server, "/alice/open/search?q=handle_request", accept="text/markdown")
    assert status == 200 and "## src/app.py" in md and "L1:" in md
    status, suggestions = fetch(server, "/alice/open/search?q=public_marker_word&suggest=1")
    assert status == 200 and "README.md" in suggestions and "<html" not in suggestions


def test_a_push_is_searchable_at_once(served):
    server, work, owner, _ = served
    _commit(work, {"src/fresh.py": "FRESHLY_PUSHED = 1\n"}, "Add fresh")
    git("-C", work, "rm", "-q", "README.md")
    git("-C", work, "commit", "-q", "-m", "Drop the README")
    git("-C", work, "push", "-q", server.repo_url("alice", "open", owner), "main")
    data = json.loads(fetch(server, "/alice/open/search?q=FRESHLY_PUSHED", accept="application/json")[1])
    assert [f["path"] for f in data["files"]] == ["src/fresh.py"]
    data = json.loads(fetch(server, "/alice/open/search?q=public_marker_word", accept="application/json")[1])
    assert data["total_files"] == 0


def test_commit_search(served):
    server, work, owner, _ = served
    data = json.loads(fetch(server, "/alice/open/search?q=" + quote("@message:fresh"),
                            accept="application/json")[1])
    assert data["kind"] == "commits" and [c["summary"] for c in data["commits"]] == ["Add fresh"]


@pytest.mark.parametrize("accept", [None, "application/json", "text/markdown"])
def test_private_content_never_reaches_others(served, accept):
    server, _work, owner, stranger = served
    path = "/alice/secret/search?q=zebra_secret_token"
    for token in (None, stranger):
        # (The 404 page may repeat the URL asked for, query included; never what the file holds.)
        status, body = fetch(server, path, token, accept)
        assert status in (404, 401) and "do not show" not in body and "keys.txt" not in body
        status, body = fetch(server, path + "&suggest=1", token, accept)
        assert status in (404, 401) and "do not show" not in body and "keys.txt" not in body
    # Nor through another repository's search.
    status, body = fetch(server, "/alice/open/search?q=zebra_secret_token", stranger, accept)
    assert status == 200 and "do not show" not in body
    status, body = fetch(server, path, owner, accept)
    assert status == 200 and "keys.txt" in body
