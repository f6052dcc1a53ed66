"""GitHub sign-in, end to end: a live Forge (gunicorn) and a fake GitHub (tests/support/fake_github.py),
both on loopback, driven by a cookie-keeping requests.Session that follows the real redirects:

    Forge's form -> POST /oauth/login/github/ -> fake /login/oauth/authorize -> Forge /oauth/complete/github/
    -> (Forge -> fake: POST /login/oauth/access_token, GET /user, /user/emails) -> Forge signs in -> next page

Nothing of social-auth is mocked. What a test cannot see over HTTP (is the account an admin, has it a
password, which GitHub id is linked to which account) it reads from the server's database, read-only.
"""
import json
from html import unescape
from html.parser import HTMLParser
from itertools import islice
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.template.loader import render_to_string

from accounts.github import is_enabled, username_candidates
from tests.support.fake_github import FakeGitHub
from tests.support.servers import start_server

KEY, SECRET = "Iv1.forgetestclient", "forge-test-client-secret"


# --- servers ---------------------------------------------------------------------------------------------------
def _start(tmp_path_factory, name, fake=None, **env):
    extra = dict(env)
    if fake is not None:
        extra.update(FORGE_GITHUB_KEY=KEY, FORGE_GITHUB_SECRET=SECRET, FORGE_GITHUB_URL=fake.url,
                     FORGE_GITHUB_API_URL=fake.api_url)
    server = start_server(tmp_path_factory.mktemp(name) / "data", extra_env=extra)
    if fake is not None:
        fake.callback_url = server.url + "/oauth/complete/github/"  # the OAuth app's registered callback
    return server


@pytest.fixture(scope="module")
def fake():
    with FakeGitHub(KEY, SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def forge(tmp_path_factory, fake):
    server = _start(tmp_path_factory, "forge-github", fake)
    yield server
    server.stop()


LOCAL_ACCOUNTS = {"mona": "", "carol": "carol@example.com", "linda": "", "eve": "", "gina": "", "ulla": ""}


@pytest.fixture(scope="module")
def local_accounts(forge):
    """Accounts with a password (f"pw-{name}-secret"), made in one command (each `adduser` costs a second).
    The first test runs before them: it must see GitHub make the site's first account."""
    script = ("from accounts.services import create_user\n"
              f"for name, email in {LOCAL_ACCOUNTS!r}.items():\n"
              "    create_user(name, email=email, password=f'pw-{name}-secret')\n")
    forge.manage("shell", "-c", script)
    return LOCAL_ACCOUNTS


@pytest.fixture
def browser(forge):
    with Browser(forge) as b:
        yield b


# --- a browser -------------------------------------------------------------------------------------------------
class _Page(HTMLParser):
    """The forms (with their inputs and button texts), messages and signed-in name of a page."""

    def __init__(self, html):
        super().__init__()
        self.forms, self.messages, self.signed_in = [], [], None
        self._form = self._text = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"action": attrs.get("action", ""), "method": (attrs.get("method") or "get").lower(),
                          "class": attrs.get("class", ""), "fields": {}, "buttons": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attrs.get("name"):
            self._form["fields"][attrs["name"]] = attrs.get("value") or ""
        elif tag in ("button", "li", "a"):
            self._text = (tag, attrs, [])

    def handle_data(self, data):
        if self._text is not None:
            self._text[2].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif self._text is not None and tag == self._text[0]:
            _, attrs, parts = self._text
            text = " ".join("".join(parts).split())
            if tag == "button" and self._form is not None:
                self._form["buttons"].append(text)
            elif tag == "li" and attrs.get("class") is not None:
                self.messages.append(text)
            elif tag == "a" and "signed-in" in (attrs.get("class") or "").split():
                self.signed_in = text
            self._text = None

    def form(self, button):
        found = [f for f in self.forms if button in f["buttons"]]
        assert len(found) == 1, f"no single form with a {button!r} button: {self.forms}"
        return found[0]


class Browser:
    def __init__(self, forge):
        self.forge = forge
        self.session = requests.Session()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.session.close()

    def get(self, path, **options):
        return self.session.get(self.forge.url + path, timeout=30, **options)

    def page(self, path):
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return _Page(response.text)

    def submit(self, path, button, allow_redirects=True):
        """Fetch `path` and press `button` in its form, as a browser would."""
        form = self.page(path).form(button)
        assert form["method"] == "post"
        return self.session.post(self.forge.url + form["action"], data=form["fields"],
                                 allow_redirects=allow_redirects, timeout=30)

    def signed_in_as(self):
        return self.page("/").signed_in

    def sign_in_with_github(self, next=None):
        return self.submit("/login" + ("?" + urlencode({"next": next}) if next else ""), "Sign in with GitHub")

    def sign_in_with_password(self, name):
        form = self.page("/login").form("Sign in")
        form["fields"].update(username=name, password=f"pw-{name}-secret")
        response = self.session.post(self.forge.url + "/login", data=form["fields"], timeout=30)
        assert response.status_code == 200 and self.signed_in_as() == name, response.text[:500]

    def link_github(self):
        return self.submit("/settings", "Link your GitHub account")


def messages_of(response):
    return _Page(response.text).messages


def path_of(response):
    parts = urlsplit(response.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- the server's database, read-only --------------------------------------------------------------------------
def _query(forge, sql, args=()):
    return forge.query_main_db(sql, args)


def accounts(forge):
    """{name: {"admin", "password", "email"}} of every account."""
    rows = _query(forge, "SELECT username, is_superuser, password, email FROM auth_user")
    return {name: {"admin": bool(admin), "password": password, "email": email}
            for name, admin, password, email in rows}


def links(forge):
    """{GitHub id: (Forge account, GitHub login)} of every link."""
    rows = _query(forge, "SELECT s.uid, u.username, s.extra_data FROM social_auth_usersocialauth s "
                         "JOIN auth_user u ON u.id = s.user_id WHERE s.provider = 'github'")
    # A JSON column: text in SQLite, already decoded from PostgreSQL's jsonb.
    return {uid: (name, (extra if isinstance(extra, dict) else json.loads(extra)).get("login"))
            for uid, name, extra in rows}


def usable_password(account):
    return not account["password"].startswith("!")


# --- first and returning sign-ins -----------------------------------------------------------------------------
def test_first_sign_in_creates_the_account_named_after_the_login_and_signs_in(forge, fake, browser):
    assert accounts(forge) == {}, "this test must see the site's first account made"
    fake.next_user = fake.add_user("octocat", id=583231, name="The Octocat", email="octocat@example.com")

    response = browser.sign_in_with_github()

    assert response.status_code == 200 and path_of(response) == "/"
    # The real round trip: Forge -> authorize -> Forge's callback, then Forge's own calls to GitHub.
    hops = [urlsplit(r.url)._replace(query="").geturl() for r in response.history]
    assert hops == [forge.url + "/oauth/login/github/", fake.url + "/login/oauth/authorize",
                    forge.url + "/oauth/complete/github/"]
    authorize = fake.requests_to("/login/oauth/authorize")[-1].query
    assert authorize["client_id"] == KEY and authorize["redirect_uri"] == fake.callback_url
    assert authorize["scope"] == "read:user,user:email" and len(authorize["state"]) >= 32
    exchange = fake.requests_to("/login/oauth/access_token")[-1]
    assert exchange.method == "POST" and exchange.form["client_secret"] == SECRET
    assert "application/json" in exchange.headers["Accept"]
    assert fake.requests_to("/user")[-1].headers["Authorization"].startswith("token gho_")

    assert browser.signed_in_as() == "octocat"
    assert any("Welcome, octocat" in m and "administrator" in m for m in messages_of(response))
    octocat = accounts(forge)["octocat"]
    assert octocat["admin"] and not usable_password(octocat) and octocat["email"] == "octocat@example.com"
    assert links(forge) == {"583231": ("octocat", "octocat")}


def test_a_returning_sign_in_lands_in_the_same_account(forge, fake, browser):
    octocat = fake.users.get("octocat") or fake.add_user("octocat", id=583231, email="octocat@example.com")
    fake.next_user = octocat
    browser.sign_in_with_github()  # first or not, depending on which tests ran
    before = accounts(forge)

    with Browser(forge) as again:
        response = again.sign_in_with_github(next="/octocat")
        assert response.status_code == 200 and path_of(response) == "/octocat"
        assert again.signed_in_as() == "octocat"
        assert not any("Welcome" in m for m in messages_of(response))
    assert accounts(forge) == before

    # GitHub accounts are known by id: a renamed login still lands in the same account.
    octocat.login = "octocat-renamed"
    try:
        with Browser(forge) as renamed:
            renamed.sign_in_with_github()
            assert renamed.signed_in_as() == "octocat"
        assert accounts(forge) == before
        assert links(forge)["583231"] == ("octocat", "octocat-renamed")
    finally:
        octocat.login = "octocat"


def test_a_login_that_clashes_with_a_local_name_gets_another_name(forge, fake, browser, local_accounts):
    mona_before = accounts(forge)["mona"]
    fake.next_user = fake.add_user("Mona", id=1001, email="mona@example.com")

    response = browser.sign_in_with_github()

    assert browser.signed_in_as() == "Mona-github"
    assert any("called Mona-github" in m for m in messages_of(response))
    assert accounts(forge)["mona"] == mona_before  # the local account is untouched ...
    assert "mona" not in {name for name, _ in links(forge).values()}  # ... and not linked

    # A second clash takes the next name, deterministically.
    fake.next_user = fake.add_user("mona", id=1002)
    with Browser(forge) as other:
        other.sign_in_with_github()
        assert other.signed_in_as() == "mona-2"
    assert links(forge)["1001"][0] == "Mona-github" and links(forge)["1002"][0] == "mona-2"


def test_a_reserved_login_gets_another_name(forge, fake, browser):
    fake.next_user = fake.add_user("settings", id=1003)
    browser.sign_in_with_github()
    assert browser.signed_in_as() == "settings-github"


def test_the_email_address_is_taken_only_if_github_verified_it(forge, fake, browser):
    fake.next_user = fake.add_user("unverified", id=1004, emails=[
        {"email": "someone-else@example.com", "primary": True, "verified": False, "visibility": None}])
    browser.sign_in_with_github()
    assert browser.signed_in_as() == "unverified"
    assert accounts(forge)["unverified"]["email"] == ""


def test_an_email_address_never_links_to_a_local_account(forge, fake, browser, local_accounts):
    # A local account and a GitHub account with the same (verified) address stay two accounts.
    fake.next_user = fake.add_user("carol-gh", id=1005, email="carol@example.com")
    browser.sign_in_with_github()
    assert browser.signed_in_as() == "carol-gh"
    assert links(forge)["1005"] == ("carol-gh", "carol-gh")
    assert usable_password(accounts(forge)["carol"])


# --- linking ---------------------------------------------------------------------------------------------------
def test_a_signed_in_user_links_github_and_then_signs_in_with_it(forge, fake, browser, local_accounts):
    browser.sign_in_with_password("linda")
    before = set(accounts(forge))
    fake.next_user = fake.add_user("linda-on-github", id=2001, email="linda@example.com")

    response = browser.link_github()

    assert response.status_code == 200 and path_of(response) == "/settings"
    assert any("linda-on-github is now linked" in m for m in messages_of(response))
    assert browser.signed_in_as() == "linda"
    assert set(accounts(forge)) == before
    assert links(forge)["2001"] == ("linda", "linda-on-github")
    assert "linda-on-github" in response.text and "Unlink GitHub" in response.text

    with Browser(forge) as later:
        later.sign_in_with_github()
        assert later.signed_in_as() == "linda"
    assert set(accounts(forge)) == before


def test_linking_a_github_account_linked_elsewhere_is_refused(forge, fake, browser, local_accounts):
    fake.next_user = fake.add_user("taken", id=2002)
    with Browser(forge) as owner:
        owner.sign_in_with_github()
        assert owner.signed_in_as() == "taken"
    browser.sign_in_with_password("eve")
    before = (accounts(forge), links(forge))

    response = browser.link_github()

    assert response.status_code == 200 and path_of(response) == "/settings"
    assert any("taken is already linked to another Forge account" in m for m in messages_of(response))
    assert (accounts(forge), links(forge)) == before
    assert browser.signed_in_as() == "eve"
    assert "Link your GitHub account" in response.text


def test_an_account_keeps_a_single_github_link(forge, fake, browser, local_accounts):
    browser.sign_in_with_password("gina")
    fake.next_user = fake.add_user("gina-one", id=2003)
    browser.link_github()
    before = links(forge)

    # The settings page offers no second link, but the flow itself refuses one too.
    fake.next_user = fake.add_user("gina-two", id=2004)
    csrf = browser.page("/settings").form("Unlink GitHub")["fields"]["csrfmiddlewaretoken"]
    response = browser.session.post(forge.url + "/oauth/login/github/", timeout=30,
                                    data={"csrfmiddlewaretoken": csrf, "next": "/settings"})

    assert path_of(response) == "/settings"
    assert any("already linked to the GitHub account gina-one" in m for m in messages_of(response))
    assert links(forge) == before


def test_unlinking(forge, fake, browser, local_accounts):
    browser.sign_in_with_password("ulla")
    fake.next_user = fake.add_user("ulla-gh", id=2005)
    browser.link_github()

    response = browser.submit("/settings", "Unlink GitHub")

    assert path_of(response) == "/settings"
    assert any("ulla-gh is no longer linked" in m for m in messages_of(response))
    assert "2005" not in links(forge)
    assert "Link your GitHub account" in response.text


def test_an_account_without_password_cannot_unlink_its_only_way_in(forge, fake, browser):
    fake.next_user = fake.add_user("nopass", id=2006)
    browser.sign_in_with_github()
    page = browser.page("/settings")
    assert "Unlink GitHub" not in [b for f in page.forms for b in f["buttons"]]
    csrf = page.form("Set password")["fields"]["csrfmiddlewaretoken"]

    response = browser.session.post(forge.url + "/oauth/disconnect/github/", timeout=30,
                                    data={"csrfmiddlewaretoken": csrf, "next": "/settings"})

    assert path_of(response) == "/settings"
    assert any("Set a password before unlinking" in m for m in messages_of(response))
    assert links(forge)["2006"] == ("nopass", "nopass")


# --- refusals --------------------------------------------------------------------------------------------------
def _to_callback(browser, fake):
    """Start the flow and let the fake GitHub approve it; the callback URL it sends the browser back to."""
    begin = browser.submit("/login", "Sign in with GitHub", allow_redirects=False)
    assert begin.status_code == 302 and begin.headers["Location"].startswith(fake.url + "/login/oauth/authorize?")
    approve = browser.session.get(begin.headers["Location"], allow_redirects=False, timeout=30)
    assert approve.status_code == 302 and approve.headers["Location"].startswith(fake.callback_url)
    return approve.headers["Location"]


def _with_params(url, **params):
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_tampered_state_is_refused(forge, fake, browser):
    fake.next_user = fake.add_user("mallory", id=3001)
    before = accounts(forge)
    callback = _to_callback(browser, fake)
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = browser.session.get(_with_params(callback, state="x" * 32), timeout=30)

    assert response.status_code == 200 and path_of(response).startswith("/login")
    assert any("did not match" in m or "expired" in m for m in messages_of(response))
    assert browser.signed_in_as() is None
    assert accounts(forge) == before
    # The code was never exchanged: Forge stopped before talking to GitHub.
    assert all(r.form.get("code") != code for r in fake.requests_to("/login/oauth/access_token"))


def test_a_callback_cannot_be_replayed(forge, fake, browser):
    fake.next_user = fake.add_user("replay", id=3002)
    callback = _to_callback(browser, fake)
    assert path_of(browser.session.get(callback, timeout=30)) == "/"
    assert browser.signed_in_as() == "replay"

    with Browser(forge) as other:  # someone else who got hold of the URL
        response = other.session.get(callback, timeout=30)
        assert path_of(response).startswith("/login") and messages_of(response)
        assert other.signed_in_as() is None


def test_denied_authorization_signs_nobody_in(forge, fake, browser):
    fake.next_user = fake.add_user("denier", id=3003)
    fake.deny_next = True
    before = accounts(forge)

    response = browser.sign_in_with_github()

    assert response.status_code == 200 and path_of(response).startswith("/login")
    assert any("cancelled" in m for m in messages_of(response))
    assert browser.signed_in_as() is None
    assert accounts(forge) == before
    assert "Sign in with GitHub" in response.text


def test_signing_in_needs_the_csrf_token(forge, browser):
    response = browser.session.post(forge.url + "/oauth/login/github/", allow_redirects=False, timeout=30)
    assert response.status_code == 403


# --- GitHub Enterprise, sign-up closed -------------------------------------------------------------------------
def test_github_enterprise_layout(tmp_path_factory):
    with FakeGitHub(KEY, SECRET, api_prefix="/api/v3") as enterprise:
        forge = _start(tmp_path_factory, "forge-ghe", enterprise, FORGE_SIGNUP="closed")
        try:
            enterprise.next_user = enterprise.add_user("first.admin", id=7, email="admin@ghe.example.com")
            with Browser(forge) as browser:
                browser.sign_in_with_github()
                assert browser.signed_in_as() == "first-admin"  # an Enterprise login Forge must adapt
            assert accounts(forge)["first-admin"]["admin"]
            assert enterprise.requests_to("/api/v3/user") and enterprise.requests_to("/api/v3/user/emails")
            assert not enterprise.requests_to("/user")

            # FORGE_SIGNUP=closed: the first account could be made, no other.
            enterprise.next_user = enterprise.add_user("latecomer", id=8)
            with Browser(forge) as browser:
                response = browser.sign_in_with_github()
                assert path_of(response).startswith("/login")
                assert any("does not take new accounts" in m for m in messages_of(response))
                assert browser.signed_in_as() is None
            assert set(accounts(forge)) == {"first-admin"}
        finally:
            forge.stop()


# --- without FORGE_GITHUB_* ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_without_the_variables_there_is_no_github_sign_in(client, settings):
    # The test process is a Forge without the variables (live servers cost seconds each; this needs none).
    if settings.FORGE_GITHUB_KEY or settings.FORGE_GITHUB_SECRET:
        pytest.skip("FORGE_GITHUB_KEY/SECRET are set in the environment of the tests")
    assert not is_enabled() and "accounts.github.GithubBackend" not in settings.AUTHENTICATION_BACKENDS
    page = client.get("/login")
    assert page.status_code == 200 and "GitHub" not in page.content.decode()
    assert client.post("/oauth/login/github/").status_code == 404
    assert client.get("/oauth/login/github/").status_code == 405
    assert client.get("/oauth/complete/github/?code=x&state=y").status_code == 404


# --- pieces --------------------------------------------------------------------------------------------------
def test_username_candidates():
    def first(login, n):
        return list(islice(username_candidates(login, "42"), n))

    assert first("octocat", 4) == ["octocat", "octocat-github", "octocat-2", "octocat-3"]
    assert first("john_doe.smith", 2) == ["john-doe-smith", "john-doe-smith-github"]
    assert first("___", 2) == ["github-42", "github-42-github"]
    long = "a" * 39
    assert [len(n) for n in first(long, 3)] == [39, 39, 39]
    assert first(long, 2)[1].endswith("-github") and first("a" * 32 + "-bcdef", 2)[1] == "a" * 32 + "-github"
    assert list(username_candidates("x", "42"))[-1] == "x-42"


@pytest.mark.parametrize("next_url, kept", [
    ("/octocat/hello?tab=1", True), ("//evil.example/", False), ("https://evil.example/", False),
    ("/\\evil.example", False), ('/"><script>', True),
])
def test_the_sign_in_button_keeps_only_a_local_next(next_url, kept):
    html = render_to_string("accounts/_github_signin.html", {"github_enabled": True, "next": next_url})
    assert 'action="/oauth/login/github/"' in html
    assert ('name="next"' in html) == kept
    assert "<script>" not in html
    if kept:
        assert unescape(html.split('name="next" value="')[1].split('"')[0]) == next_url
    assert render_to_string("accounts/_github_signin.html", {"github_enabled": False, "next": "/x"}).strip() == ""


def test_the_settings_section():
    class Person:
        def __init__(self, has_password):
            self.has_password = has_password

        def has_usable_password(self):
            return self.has_password

    def render(**context):
        return " ".join(render_to_string("accounts/_github_link.html", context).split())

    assert render(github_enabled=False, user=Person(True), github_login="octocat") == ""
    linked = render(github_enabled=True, user=Person(True), github_login="<octo>")
    assert "&lt;octo&gt;" in linked and 'action="/oauth/disconnect/github/"' in linked and "Unlink GitHub" in linked
    without_password = render(github_enabled=True, user=Person(False), github_login="octocat")
    assert "disconnect" not in without_password and "set a password" in without_password
    unlinked = render(github_enabled=True, user=Person(True), github_login=None)
    assert 'action="/oauth/login/github/"' in unlinked and 'name="next" value="/settings"' in unlinked
    assert "Link your GitHub account" in unlinked
