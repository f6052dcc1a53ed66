"""A pull request in a real browser (headless Debian chromium through Playwright) against a real
Forge that the real git CLI pushed to: compare two branches -> open a pull request -> comment
(htmx, no reload) -> look at its files -> merge it -> see it merged, and the branch in git.
Screenshots: test-artifacts/browser/pull-*.png."""
import os

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import shot as save_shot
from tests.support import servers
from tests.support.gitcli import git, out

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("pull-forge"))
    try:
        token = server.token("alice")  # alice's password is pw-alice-secret
        work = tmp_path_factory.mktemp("pull-src")
        git("init", "-q", "-b", "main", work)
        lines = "".join(f"line {i}\n" for i in range(20))
        (work / "app.py").write_text(lines)
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", "Start")
        git("-C", work, "checkout", "-q", "-b", "feature/greeting")
        (work / "app.py").write_text("print('hello')\n" + lines)
        git("-C", work, "commit", "-q", "-am", "Greet first")
        git("-C", work, "checkout", "-q", "main")
        (work / "README.md").write_text("# Pulls\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", "Add a README")
        git("-C", work, "push", "-q", server.repo_url("alice", "greet", token), "main", "feature/greeting")
        yield server, token
    finally:
        server.stop()


def shot(page, name):
    save_shot(page, f"pull-{name}", full_page=True)


def test_open_comment_and_merge_a_pull_request(served, browser, tmp_path):
    server, token = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/login?next=/alice/greet/compare/main...feature/greeting")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("pw-alice-secret")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/compare/main...feature/greeting")
    shot(page, "1-compare")

    page.get_by_role("button", name="Open pull request").click()
    page.wait_for_url("**/pulls/new?**")
    assert page.get_by_label("Title").input_value() == "Greet first"
    page.get_by_label("Description").fill("Say hello before anything else.")
    page.get_by_role("button", name="Open pull request").click()
    page.wait_for_url(f"{server.url}/alice/greet/pulls/1")
    assert page.locator(".state-badge").first.inner_text() == "Open"
    assert "no conflicts" in page.locator(".merge-box").inner_text().lower()
    shot(page, "2-opened")

    # A comment goes in through htmx: the page is not reloaded (a marker set on window survives).
    page.evaluate("window.stillHere = true")
    page.get_by_label("Add a comment").fill("Looks good to me, @alice.")
    page.get_by_role("button", name="Comment", exact=True).click()
    # (expect, not wait_for_function: a string predicate is polled with eval, which the CSP refuses)
    expect(page.locator("#timeline")).to_contain_text("Looks good to me")
    assert page.evaluate("window.stillHere") is True
    assert page.locator("#timeline a", has_text="@alice").first.get_attribute("href") == "/alice"

    page.locator(".pull-tabs a, .tabs a", has_text="Files").first.click()
    page.wait_for_url("**/pulls/1/files")
    assert "print('hello')" in page.content()
    shot(page, "3-files")

    page.goto(f"{server.url}/alice/greet/pulls/1")
    page.get_by_label("Squash and merge").check()
    page.get_by_label("Delete the feature/greeting branch after merging").check()
    page.get_by_role("button", name="Merge pull request").click()
    page.wait_for_url(f"{server.url}/alice/greet/pulls/1")
    assert page.locator(".state-badge").first.inner_text() == "Merged"
    assert "merged pull request #1 into main" in page.locator(".messages").inner_text()
    shot(page, "4-merged")
    assert errors == []

    clone = tmp_path / "clone"
    git("clone", "-q", server.repo_url("alice", "greet", token), clone)
    assert (clone / "app.py").read_text().startswith("print('hello')\n")
    assert (clone / "README.md").exists()
    assert out("-C", clone, "log", "-1", "--format=%s").strip() == "Greet first (#1)"
    assert "feature/greeting" not in out("-C", clone, "branch", "-r")
    page.close()
