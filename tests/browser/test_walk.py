"""A real browser (Debian's chromium, headless, driven by Playwright) walks a repository served by a
real Forge: home -> tree -> blob -> blame -> history -> commit -> compare. Screenshots of every step
are kept in test-artifacts/browser/ for people to look at."""
import os

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, shot
from tests.support import servers
from tests.support.gitcli import git, out
from tests.support.sources import make_test_repo

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("browser-forge"))
    try:
        token = server.token("alice")
        source = make_test_repo(tmp_path_factory.mktemp("browser-src") / "walk.git", 80)
        git("-C", source, "push", "-q", server.repo_url("alice", "walk", token),
            "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
        yield server, source
    finally:
        server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_walk_home_tree_blob_blame_history_commit_compare(served, page):
    server, source = served
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/alice/walk")
    assert page.locator("h1").inner_text().replace(" ", "") == "alice/walk"
    assert page.locator("#clone-url").input_value() == f"{server.url}/alice/walk.git"
    assert page.locator("button[data-copy]").is_visible()   # the copy button appears with JavaScript
    shot(page, "1-home")

    directory = out("-C", source, "ls-tree", "-d", "--name-only", "main").split()[0]
    page.locator("table.tree a", has_text=directory).first.click()
    page.wait_for_url(f"**/tree/main/{directory}")
    shot(page, "2-tree")

    files = out("-C", source, "ls-tree", "-r", "--name-only", "main", "--", directory).split()
    target = max((f for f in files if f.endswith(".py") and len(out("-C", source, "show", f"main:{f}").splitlines()) > 10),
                 key=lambda f: len(out("-C", source, "log", "--format=%H", "main", "--", f).split()))
    # Navigate down the tree the way a person would, one directory at a time.
    for part in target[len(directory) + 1:].split("/"):
        page.locator("table.tree td.name a", has_text=part).first.click()
        page.wait_for_load_state()
    assert page.url.endswith(f"/blob/main/{target}")
    assert page.locator("table.code tr").count() == len(out("-C", source, "show", f"main:{target}").splitlines())
    page.goto(page.url + "#L3-L6")
    # (expect, not wait_for_function: a string predicate is polled with eval, which the CSP refuses)
    expect(page.locator("tr.hl")).to_have_count(4)
    shot(page, "3-blob")

    page.locator(".file-head a", has_text="Blame").click()
    page.wait_for_url(f"**/blame/main/{target}")
    assert page.locator("table.blame td.bl").count() >= 1
    shot(page, "4-blame")

    page.locator(".actions a", has_text="History").click()
    page.wait_for_url(f"**/commits/main/{target}")
    expected = out("-C", source, "log", "-1", "--format=%s", "main", "--", target).strip()
    first = page.locator("ul.commits a.msg").first
    assert first.inner_text().strip() == expected[:100].strip() or expected.startswith(first.inner_text()[:-1])
    shot(page, "5-history")

    first.click()
    page.wait_for_url("**/commit/*")
    assert page.locator("details.file").count() >= 1
    page.locator("a", has_text="Split").click()
    page.wait_for_url("**view=split")
    assert page.locator("table.diff.split").count() >= 1
    shot(page, "6-commit")

    page.goto(f"{server.url}/alice/walk/branches")
    compare = page.locator("a", has_text="Compare").first
    compare.click()
    page.wait_for_url("**/compare/**")
    assert "merge base" in page.locator(".compare-head").inner_text()
    shot(page, "7-compare")
    assert errors == []


def test_pages_work_without_javascript(served, browser):
    server, source = served
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/alice/walk")
        assert page.locator("#clone-url").input_value().endswith("/alice/walk.git")
        page.locator("details.refs summary").click()
        branch = out("-C", source, "for-each-ref", "--format=%(refname:short)", "refs/heads/feature/").split()[0]
        page.locator("details.refs a", has_text=branch).first.click()
        page.wait_for_url(f"**/tree/{branch}")
        shot(page, "8-no-js-branch")
    finally:
        context.close()
