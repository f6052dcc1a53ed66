"""Attack: framing (clickjacking), content sniffing, injected script, referrer leaks, and downgrade.

Every page carries a Content-Security-Policy (forge/security_headers.py), X-Frame-Options DENY,
X-Content-Type-Options nosniff and a Referrer-Policy. HSTS goes only on https answers, and Forge
believes "this was https" (X-Forwarded-Proto) only from FORGE_TRUSTED_PROXIES: gunicorn by itself
believes that header from loopback, so without Forge's check any local client could turn HSTS on
for a plain-http site. Checked on a live gunicorn; the policy's effect in a real browser (no
violation on our own pages) is checked in test_xss.py, which has the browser.
"""
import re
from pathlib import Path

import pytest

from tests.security.conftest import provision, raw_request
from tests.support import servers

PROXY = "127.0.0.2"
ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/", "/login", "/signup", "/alice", "/alice/open", "/api/v3/repos/alice/open", "/static/forge.css"]


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("headers") / "data",
                                  extra_env={"FORGE_TRUSTED_PROXIES": PROXY})
    try:
        provision(server, {"alice": ""}, [("alice/open", False)])
        yield server
    finally:
        server.stop()


def directives(policy: str) -> dict:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("target", PAGES)
def test_every_answer_carries_the_headers(forge, target):
    answer = raw_request(forge.url, "GET", target)
    assert answer.status == 200, (target, answer.status)
    policy = directives(answer.header("Content-Security-Policy") or "")
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no nonce needed
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]  # GitHub sign-in is off here
    assert "'unsafe-inline'" not in policy["style-src"]
    assert answer.header("X-Frame-Options") == "DENY"
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("Referrer-Policy") == "same-origin"
    assert answer.header("Strict-Transport-Security") is None  # plain http


def test_hsts_only_behind_a_trusted_tls_proxy(forge):
    via_proxy = raw_request(forge.url, "GET", "/", [("X-Forwarded-Proto", "https")], source=PROXY)
    assert re.fullmatch(r"max-age=\d{7,}", via_proxy.header("Strict-Transport-Security") or ""), via_proxy.headers
    # The proxy says the client spoke plain http: no HSTS.
    plain = raw_request(forge.url, "GET", "/", [("X-Forwarded-Proto", "http")], source=PROXY)
    assert plain.header("Strict-Transport-Security") is None
    # Any other client saying https in each header gunicorn or Django would read: not believed.
    for header, value in [("X-Forwarded-Proto", "https"), ("X-Forwarded-Protocol", "ssl"),
                          ("X-Forwarded-Ssl", "on"), ("X-Forwarded-Proto", "https, http")]:
        spoofed = raw_request(forge.url, "GET", "/", [(header, value)])
        assert spoofed.header("Strict-Transport-Security") is None, (header, spoofed.headers)


def test_an_untrusted_https_claim_changes_no_url_forge_builds(forge):
    # A redirect Forge builds from the request's scheme stays http for a spoofer (and https via the proxy).
    spoofed = raw_request(forge.url, "GET", "/alice/open.git", [("X-Forwarded-Proto", "https")])
    proxied = raw_request(forge.url, "GET", "/alice/open.git", [("X-Forwarded-Proto", "https")], source=PROXY)
    assert spoofed.status == proxied.status and spoofed.status in (301, 302, 307, 308)
    assert not (spoofed.header("Location") or "").startswith("https:")


def test_raw_files_keep_their_stricter_policy(forge):
    # The raw view sets `default-src 'none'; sandbox`; the site-wide policy must not replace it.
    from tests.security.conftest import commit_files
    from tests.support.gitcli import git
    token = provision(forge, {"carl": "repo:read,repo:write"})["carl"]
    work = commit_files(Path(forge.data_dir).parent / "raw-work", {"page.html": "<script>alert(1)</script>\n"})
    git("-C", work, "push", "-q", forge.repo_url("carl", "rawtest", token), "main")  # push-to-create
    answer = raw_request(forge.url, "GET", "/carl/rawtest/raw/main/page.html")
    assert answer.status == 200
    policy = directives(answer.header("Content-Security-Policy"))
    assert policy["default-src"] == ["'none'"] and "sandbox" in policy
    assert answer.header("X-Content-Type-Options") == "nosniff"


def test_templates_need_no_inline_script():
    """What the policy refuses must not be in our own templates: inline <script>, on* handlers, hx-on
    (htmx evaluates it with eval), <style> elements, javascript: URLs."""
    offending = []
    patterns = [r"<script(?![^>]*\bsrc=)", r"\son[a-z]+\s*=", r"\bhx-on", r"<style\b", r"javascript:"]
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        offending += [(template.name, p) for p in patterns if re.search(p, text, re.IGNORECASE)]
    assert offending == []
