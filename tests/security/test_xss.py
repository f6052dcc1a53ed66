"""Attack: script smuggled into pages through content anyone may push or post — Markdown (README, issue
bodies, comments), file names, commit messages, branch and tag names, issue and pull request titles,
label names, display names, search snippets — and through reflected input (a 404 path, `next=`).

A live Forge gets all of it through real git and the API. Then:
* every page is parsed: no element carries an on* handler, no <script> is inline or from elsewhere,
  no URL attribute is javascript:, no <svg>/<iframe>/<object>/<embed>/<base> comes from content;
* one headless chromium loads the pages with the Content-Security-Policy bypassed (so escaping alone is
  tested): no dialog opens and the payloads' marker (window.__xss) stays unset;
* the same pages with the policy on raise no CSP violation: the policy lets our own pages work.
"""
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import requests

from tests.browser.conftest import CHROMIUM, FLAGS
from tests.security.conftest import commit_files, provision
from tests.support import servers
from tests.support.gitcli import git

SCRIPT = "<script>window.__xss=1;alert(1)</script>"
IMG = '<img src=x onerror="window.__xss=1;alert(2)">'
SVG = "<svg/onload=window.__xss=1>"
PAYLOAD = f"{SCRIPT}{IMG}{SVG}\"'><b onmouseover=alert(3)>x</b>"
FILE_NAME = "<img src=x onerror=alert(1)>.md"  # git allows any byte but NUL and '/' in a name
BRANCH = "x<svg/onload=alert(1)>"              # as much HTML as a ref name may hold (no spaces, no quotes)
TAG = "t<img/src=x/onerror=alert(1)>"
README = f"""# Title {SCRIPT}

{IMG}

<details open ontoggle="window.__xss=1">raw html</details>

[click](javascript:window.__xss=1) [data](data:text/html,{SCRIPT}) [vb](vbscript:msgbox(1))
![pic](javascript:alert(1)) <a href="javascript:alert(1)">a</a>

```html
{SCRIPT}
```

| {IMG} | `{SCRIPT}` |
|---|---|
| {SVG} | x |
"""


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("xss") / "data")
    try:
        token = provision(server, {"alice": "repo:read,repo:write,issues:write"})["alice"]
        work = commit_files(tmp_path_factory.mktemp("xss-work") / "w", {
            "README.md": README, FILE_NAME: f"# {PAYLOAD}\n", "notes.txt": f"needle {SCRIPT} needle\n",
            f"dir{IMG.replace('/', '')}/inner.txt": "x\n"}, message=f"Subject {PAYLOAD}\n\nBody {PAYLOAD}")
        git("-C", work, "checkout", "-q", "-b", "feature")
        commit_files(work, {"feature.txt": f"{PAYLOAD}\n"}, message=f"Feature {PAYLOAD}")
        git("-C", work, "tag", "-a", TAG, "-m", f"Tag message {PAYLOAD}")
        url = server.repo_url("alice", "xss", token)
        git("-C", work, "push", "-q", url, "main", "feature", f"feature:refs/heads/{BRANCH}", f"refs/tags/{TAG}")
        api = requests.Session()
        api.headers["Authorization"] = f"token {token}"
        base = f"{server.url}/api/v3/repos/alice/xss"
        for call in [api.post(f"{base}/labels", json={"name": f"l{IMG}", "color": "ff0000", "description": PAYLOAD}),
                     api.post(f"{base}/issues", json={"title": f"Issue {PAYLOAD}", "body": README,
                                                      "labels": [f"l{IMG}"]}),
                     api.post(f"{base}/issues/1/comments", json={"body": README}),
                     api.post(f"{base}/pulls", json={"title": f"Pull {PAYLOAD}", "body": README,
                                                     "head": "feature", "base": "main"}),
                     api.post(f"{base}/issues/2/comments", json={"body": f"Comment {PAYLOAD}"})]:
            assert call.status_code == 201, call.text
        # A label colour is written into a style attribute: only a colour may get there.
        bad = api.post(f"{base}/labels", json={"name": "evil", "color": 'ff0000;background:url(x)" onmouseover="alert(1)'})
        assert bad.status_code == 422, bad.text
        named = api.patch(f"{server.url}/api/v3/user", json={"name": f"Alice {PAYLOAD}"})
        server.display_name_set = named.status_code == 200
        server.main_sha = git("-C", work, "rev-parse", "main").stdout.strip()
        yield server
    finally:
        server.stop()


def pages(forge):
    repo = "/alice/xss"
    return [repo, f"{repo}/tree/main", f"{repo}/blob/main/{quote(FILE_NAME)}", f"{repo}/blob/main/README.md",
            f"{repo}/commits", f"{repo}/commit/{forge.main_sha}", f"{repo}/branches", f"{repo}/tags",
            f"{repo}/tree/{quote(BRANCH)}", f"{repo}/compare/main...feature", f"{repo}/issues", f"{repo}/issues/1",
            f"{repo}/pulls", f"{repo}/pulls/2", f"{repo}/pulls/2/files", f"{repo}/issues/labels",
            f"{repo}/search?q=needle", f"{repo}/search?q=needle&suggest=1", f"{repo}/blame/main/notes.txt",
            "/alice", "/", f"{repo}/tree/main/{quote(SCRIPT)}", f"/login?next={quote(PAYLOAD)}",
            f"{repo}/search?q={quote(PAYLOAD)}", f"{repo}/issues?q={quote(PAYLOAD)}"]


class Injected(HTMLParser):
    """Elements and attributes that only injected markup would bring."""
    URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster"})

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            scheme = re.match(r"\s*(javascript|vbscript|data):", value or "", re.IGNORECASE)
            if name in self.URL_ATTRIBUTES and scheme and not (tag == "img" and value.startswith("data:image/")):
                self.found.append(f"<{tag} {name}={value[:40]}>")
        if tag == "script" and not (dict(attrs).get("src") or "").startswith("/static/"):
            self.found.append("<script> not from /static/")
        if tag in ("svg", "iframe", "object", "embed", "base", "math"):
            self.found.append(f"<{tag}>")

    handle_startendtag = handle_starttag


def test_pages_escape_everything(forge):
    visited = 0
    for path in pages(forge):
        answer = requests.get(forge.url + path, timeout=30)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        assert answer.status_code == 200 or "tree/main/" in path, path
        parser = Injected()
        parser.feed(answer.text)
        assert parser.found == [], (path, parser.found)
        visited += answer.status_code == 200
    # The hostile things did land (so the pages above showed them, escaped).
    tree = requests.get(forge.url + "/alice/xss/tree/main", timeout=30).text
    assert "&lt;img src=x onerror=alert(1)&gt;.md" in tree
    assert "x&lt;svg/onload=alert(1)&gt;" in requests.get(forge.url + "/alice/xss/branches", timeout=30).text
    assert "needle" in requests.get(forge.url + "/alice/xss/search?q=needle", timeout=30).text
    if forge.display_name_set:
        assert "Alice &lt;script&gt;" in requests.get(forge.url + "/alice", timeout=30).text
    assert visited >= len(pages(forge)) - 2


def test_a_browser_runs_none_of_it(forge):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            # 1. Escaping alone: the policy is bypassed, so a payload that got through would run.
            context = browser.new_context(bypass_csp=True)
            dialogs, fired = [], []
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            for path in pages(forge):
                page.goto(forge.url + path, wait_until="load")
                page.wait_for_timeout(50)
                if page.evaluate("window.__xss"):
                    fired.append(path)
            context.close()
            assert dialogs == [] and fired == [], (dialogs, fired)

            # 2. With the policy: our own pages (htmx, forge.js, styles) break none of its rules.
            context = browser.new_context()
            context.add_init_script("window.__violations = [];"
                                    "document.addEventListener('securitypolicyviolation', e =>"
                                    " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            violations = {}
            for path in pages(forge)[:6] + ["/alice/xss/pulls/2", "/alice/xss/search?q=needle", "/login"]:
                page.goto(forge.url + path, wait_until="load")
                page.wait_for_timeout(50)
                found = page.evaluate("window.__violations")
                if found:
                    violations[path] = found
            # htmx's live search suggestions: an XHR and a swap, under the policy.
            page.goto(forge.url + "/alice/xss", wait_until="load")
            page.fill("input[name=q]", "needle")
            # (a locator, not wait_for_function: Playwright evaluates a string predicate with eval,
            # which the policy refuses)
            page.locator("#search-suggestions", has_text="notes.txt").wait_for(timeout=15000)
            assert page.evaluate("window.__violations") == [] and not page.evaluate("window.__xss")
            context.close()
            assert violations == {} and errors == [], (violations, errors)
        finally:
            browser.close()
