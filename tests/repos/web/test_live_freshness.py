"""Pages on a live, multi-worker Forge show a push at once, whichever worker answers: stores kept
open between requests must not keep reading the database as it was (repos/store/pool.py)."""
import urllib.request

import pytest

from tests.support import servers
from tests.support.gitcli import git, out

PAGES = ["", "/tree/main", "/blob/main/app.py", "/blame/main/app.py", "/commits/main", "/branches"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    forge = servers.start_server(tmp_path_factory.mktemp("freshness"))
    yield forge
    forge.stop()


def fetch(server, path):
    with urllib.request.urlopen(f"{server.url}/alice/fresh{path}?format=md", timeout=30) as response:
        return response.read().decode()


def test_every_worker_shows_a_push_at_once(server, tmp_path):
    token = server.token("alice")
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    for round_ in range(3):
        (work / "app.py").write_text(f"print({round_})\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", f"Round {round_}")
        git("-C", work, "push", "-q", server.repo_url("alice", "fresh", token), "main")
        head = out("-C", work, "rev-parse", "HEAD").strip()
        # Enough requests that every worker and thread has read objects through its pooled store.
        for _ in range(4):
            for page in PAGES:
                body = fetch(server, page)
                assert f"Round {round_}" in body or head[:7] in body or f"print({round_})" in body, (round_, page)
