"""A fake GitHub for OAuth tests: a real HTTP server on loopback, in a background thread.

It speaks the parts of GitHub's OAuth web flow and REST API that a "Sign in with GitHub" needs:

    GET  {url}/login/oauth/authorize        checks client_id and redirect_uri, then 302s back to
                                             redirect_uri with a one-time `code` and the same `state`
                                             (or with error=access_denied when the test says so)
    POST {url}/login/oauth/access_token     checks client_id, client_secret and code; answers the token
                                             (JSON if the client asks for it, as GitHub does, else a form)
    GET  {api_url}/user                     the approving user (Authorization: token|Bearer TOKEN)
    GET  {api_url}/user/emails              their addresses

    with FakeGitHub(client_id="id", client_secret="secret") as fake:        # github.com layout
    with FakeGitHub(..., api_prefix="/api/v3") as fake:                     # GitHub Enterprise layout
        fake.callback_url = forge.url + "/oauth/complete/github/"           # the OAuth app's registration
        fake.next_user = fake.add_user("octocat", id=1, name="The Octocat", email="octo@example.com")
        fake.deny_next = True                                               # the next authorize says no

In the github.com layout the API is served at the root of the same server (GitHub's is api.github.com,
another host); in the Enterprise layout only under api_prefix, so a client that ignores the prefix fails.
Every request is recorded in `fake.requests` (method, path, query, headers, form) for assertions.
"""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


@dataclass
class FakeUser:
    id: int
    login: str
    name: str = ""
    email: str | None = None  # the public address /user shows
    emails: list[dict] = field(default_factory=list)  # /user/emails

    def profile(self, base_url: str) -> dict:
        return {
            "login": self.login, "id": self.id, "node_id": f"U_fake{self.id}", "type": "User",
            "site_admin": False, "name": self.name or None, "email": self.email,
            "html_url": f"{base_url}/{self.login}", "avatar_url": f"{base_url}/avatars/{self.id}",
        }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict
    headers: dict
    form: dict


@dataclass
class _Grant:
    user: FakeUser
    client_id: str
    redirect_uri: str
    scope: str


class FakeGitHub:
    def __init__(self, client_id: str, client_secret: str, api_prefix: str = "", host: str = "127.0.0.1"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_prefix = api_prefix.rstrip("/")
        self.callback_url: str | None = None  # None: any redirect_uri is taken
        self.next_user: FakeUser | None = None
        self.deny_next = False
        self.users: dict[str, FakeUser] = {}
        self.requests: list[RecordedRequest] = []
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self.api_url = self.url + self.api_prefix
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-github", daemon=True)
        self._thread.start()

    # --- the test's side -------------------------------------------------------------------------------------
    def add_user(self, login: str, id: int, name: str = "", email: str | None = None,
                 emails: list[dict] | None = None) -> FakeUser:
        """A GitHub account; `emails` defaults to `email` as the primary, verified address."""
        if emails is None:
            emails = [{"email": email, "primary": True, "verified": True, "visibility": "public"}] if email else []
        user = FakeUser(id=id, login=login, name=name, email=email, emails=emails)
        self.users[login] = user
        return user

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- GitHub's side ---------------------------------------------------------------------------------------
    def authorize(self, query: dict):
        """(status, headers, body) for GET /login/oauth/authorize."""
        if query.get("client_id") != self.client_id:
            return 404, {}, "Unknown OAuth application (client_id)\n"
        redirect_uri = query.get("redirect_uri", "")
        if self.callback_url is not None and redirect_uri != self.callback_url:
            return 400, {}, "The redirect_uri MUST match the registered callback URL for this application.\n"
        back = {"state": query["state"]} if "state" in query else {}
        with self._lock:
            deny, self.deny_next = self.deny_next, False
            user = self.next_user
        if deny:
            params = {"error": "access_denied",
                      "error_description": "The user has denied your application access.",
                      "error_uri": f"{self.url}/apps/troubleshooting", **back}
            return 302, {"Location": _with_query(redirect_uri, params)}, ""
        if user is None:
            return 403, {}, "Nobody is signed in to the fake GitHub (set fake.next_user)\n"
        code = secrets.token_hex(10)
        with self._lock:
            self._codes[code] = _Grant(user, self.client_id, redirect_uri, query.get("scope", ""))
        return 302, {"Location": _with_query(redirect_uri, {"code": code, **back})}, ""

    def access_token(self, form: dict, accept: str):
        """(status, headers, body) for POST /login/oauth/access_token. Like GitHub, errors are 200s."""
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            answer = {"error": "incorrect_client_credentials",
                      "error_description": "The client_id and/or client_secret passed are incorrect."}
        else:
            with self._lock:
                grant = self._codes.pop(form.get("code", ""), None)  # a code is good once
            if grant is None or grant.client_id != form.get("client_id"):
                answer = {"error": "bad_verification_code",
                          "error_description": "The code passed is incorrect or expired."}
            elif "redirect_uri" in form and form["redirect_uri"] != grant.redirect_uri:
                answer = {"error": "redirect_uri_mismatch",
                          "error_description": "The redirect_uri MUST match the registered callback URL."}
            else:
                token = "gho_" + secrets.token_hex(18)
                with self._lock:
                    self._tokens[token] = grant
                answer = {"access_token": token, "token_type": "bearer", "scope": grant.scope}
        if "application/json" in accept:
            return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(answer)
        return 200, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, urlencode(answer)

    def api(self, path: str, authorization: str):
        """(status, headers, body) for GET {api_url}/user and /user/emails."""
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            grant = self._tokens.get(token.strip()) if scheme.lower() in ("token", "bearer") else None
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if grant is None:
            return 401, headers, json.dumps({"message": "Requires authentication"})
        if path == "/user":
            return 200, headers, json.dumps(grant.user.profile(self.url))
        if path == "/user/emails":
            if "user:email" not in grant.scope.replace(",", " ").split() and "user" not in grant.scope.split(","):
                return 404, headers, json.dumps({"message": "Not Found"})
            return 200, headers, json.dumps(grant.user.emails)
        return 404, headers, json.dumps({"message": "Not Found"})


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _handler_for(fake: FakeGitHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # keep test output clean
            pass

        def _record(self, form=None):
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            fake.requests.append(RecordedRequest(self.command, parts.path, query, dict(self.headers), form or {}))
            return parts.path, query

        def _answer(self, status, headers, body):
            data = body.encode("utf-8")
            self.send_response(status)
            headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path, query = self._record()
            api_path = path[len(fake.api_prefix):] if path.startswith(fake.api_prefix + "/") else None
            if path == "/login/oauth/authorize":
                self._answer(*fake.authorize(query))
            elif api_path in ("/user", "/user/emails"):
                self._answer(*fake.api(api_path, self.headers.get("Authorization", "")))
            else:
                self._answer(404, {"Content-Type": "application/json"}, json.dumps({"message": "Not Found"}))

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            if "json" in self.headers.get("Content-Type", ""):
                form = json.loads(raw or "{}")
            else:
                form = dict(parse_qsl(raw, keep_blank_values=True))
            path, _query = self._record(form)
            if path == "/login/oauth/access_token":
                self._answer(*fake.access_token(form, self.headers.get("Accept", "")))
            else:
                self._answer(404, {"Content-Type": "application/json"}, json.dumps({"message": "Not Found"}))

    return Handler
