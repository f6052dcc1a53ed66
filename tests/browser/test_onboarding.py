"""A newcomer's first minutes, in a real browser (Debian's chromium, headless, through Playwright)
against a real Forge: sign up -> new repository -> copy the clone URL -> make a token -> push with
the real git CLI -> see the code -> rename the repository and push to its old URL. Then the token
is revoked on its page and git is refused.
Screenshots go to test-artifacts/browser/onboarding-*.png."""
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import shot as save_shot
from tests.support import servers
from tests.support.gitcli import git

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (.ci/run installs it)")
PASSWORD = "a long and unusual passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    forge = servers.start_server(tmp_path_factory.mktemp("onboarding-forge"))
    yield forge
    forge.stop()


def shot(page, name):
    save_shot(page, f"onboarding-{name}", full_page=True)


def with_token(url, token):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"dana:{token}@{parts.netloc}"))


def test_sign_up_create_push_and_see_the_code(server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("User name").fill("dana")
    page.get_by_label("E-mail (optional)").fill("dana@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    shot(page, "1-signup")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(server.url + "/")
    assert page.locator(".site-header .signed-in").inner_text() == "dana"
    assert "administrator" in page.locator(".messages").inner_text()  # the first account

    page.get_by_role("link", name="+ New").click()
    page.wait_for_url("**/new")
    page.get_by_label("Repository name").fill("hello")
    page.get_by_label("Description (optional)").fill("My first repository")
    shot(page, "2-new")
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"{server.url}/dana/hello")
    assert "This repository is empty" in page.locator(".empty-repo").inner_text()
    page.get_by_role("button", name="Copy").click()
    # (expect, not wait_for_function: a string predicate is polled with eval, which the CSP refuses)
    expect(page.locator("button[data-copy]")).to_have_text("Copied")
    clone_url = page.evaluate("navigator.clipboard.readText()")
    assert clone_url == f"{server.url}/dana/hello.git"
    shot(page, "3-empty")

    page.get_by_role("link", name="Settings", exact=True).first.click()
    page.get_by_role("link", name="Tokens").click()
    page.wait_for_url("**/settings/tokens")
    page.get_by_label("Label").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").input_value()
    assert token.startswith("forge_")
    shot(page, "4-token")
    page.reload()  # shown once: a reload shows only its prefix, and makes no second token
    assert token not in page.content() and token[:10] in page.content()
    assert page.get_by_role("button", name="Revoke").count() == 1

    work = tmp_path / "hello"
    git("init", "-q", "-b", "main", work)
    (work / "README.md").write_text("# Hello from Dana\n\nPushed by the real git CLI.\n")
    (work / "hello.py").write_text("print('hello')\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "First commit")
    git("-C", work, "remote", "add", "origin", with_token(clone_url, token))
    push = git("-C", work, "push", "-u", "origin", "main")
    assert push.returncode == 0

    page.goto(f"{server.url}/dana/hello")
    assert page.locator(".readme h1").inner_text() == "Hello from Dana"
    names = page.locator("table.tree td.name").all_inner_texts()
    assert [name.strip() for name in names] == ["README.md", "hello.py"]
    assert page.locator("#clone-url").input_value() == clone_url
    shot(page, "5-code")

    # Rename it on its settings page: the old web and git URLs keep working.
    page.locator(".repo-head .tabs a", has_text="Settings").click()
    page.wait_for_url(f"{server.url}/dana/hello/settings")
    page.get_by_label("Repository name").fill("hello-world")
    page.get_by_role("button", name="Rename").click()
    page.wait_for_url(f"{server.url}/dana/hello-world/settings")
    assert "Renamed dana/hello to dana/hello-world" in page.locator(".messages").inner_text()
    shot(page, "6-renamed")
    page.goto(f"{server.url}/dana/hello/blob/main/hello.py#L1")
    assert page.url == f"{server.url}/dana/hello-world/blob/main/hello.py#L1"
    (work / "hello.py").write_text("print('hello, world')\n")
    git("-C", work, "commit", "-q", "-am", "Greet the world")
    git("-C", work, "push", "-q", "origin", "main")  # origin is still the old URL
    page.goto(f"{server.url}/dana/hello-world/commits/main")
    assert page.locator("ul.commits a.msg").first.inner_text().strip() == "Greet the world"

    # Revoking the token on the page stops git at once.
    page.goto(server.url + "/settings/tokens")
    assert page.locator("#token-1 td").nth(5).inner_text() == "just now"  # its last use
    page.get_by_role("button", name="Revoke").click()
    assert "revoked" in page.locator(".messages").inner_text()
    (work / "more.txt").write_text("after the token was revoked\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "Too late")
    refused = git("-C", work, "push", "origin", "main", check=False)
    assert refused.returncode != 0 and "Authentication failed" in refused.stderr, refused.stderr
    shot(page, "7-revoked")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("link", name="Sign in").is_visible()
    assert errors == []
    context.close()
