"""Fixtures for the API tests: one live Forge (gunicorn on loopback) for the whole session, users
with tokens, PyGithub clients pointed at it (the real client, as scripts and agents use it), a plain
`requests` session for what PyGithub does not reach, and repositories pushed with the real git CLI.

Tests share the server: each makes repositories under names of its own (`fresh_name`)."""
import itertools
import os
import sys
from pathlib import Path

import pytest
import requests
from github import Auth, Github

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import servers  # noqa: E402
from tests.support.gitcli import git  # noqa: E402

ALL_SCOPES = "repo:read,repo:write,issues:write,pulls:merge,admin"
_names = itertools.count(1)


class Api:
    """Raw HTTP against /api/v3 with a token (or none), for status codes and headers."""

    def __init__(self, base, token=None):
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"
        self.session.headers["Accept"] = "application/vnd.github+json"

    def __call__(self, method, path, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.base + path, timeout=60, **kwargs)

    def get(self, path, **kwargs):
        return self("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self("PATCH", path, **kwargs)

    def put(self, path, **kwargs):
        return self("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def api_server(tmp_path_factory):
    server = servers.start_server(tmp_path_factory.mktemp("forge-api-data"))
    yield server
    server.stop()


# fuzzer: schemathesis's own account, so that what it changes at random (its name, its repositories)
# never touches the accounts other tests check.
TOKEN_HOLDERS = {"alice": ALL_SCOPES, "bob": ALL_SCOPES, "carol": "repo:read", "fuzzer": ALL_SCOPES}


@pytest.fixture(scope="session")
def tokens(api_server):
    """{name: token}: alice, bob and fuzzer with every scope, carol (a stranger) with repo:read only; made
    in one manage.py process (each start-up costs a second or more)."""
    code = ("from accounts.services import create_user\nfrom accounts.tokens import issue_token\n"
            f"for name, scopes in {TOKEN_HOLDERS!r}.items():\n"
            "    user = create_user(name, password=f'pw-{name}-secret')\n"
            "    print('TOKEN', name, issue_token(user, 'api-tests', scopes)[1])\n")
    printed = api_server.manage("shell", "-c", code)
    made = {line.split()[1]: line.split()[2] for line in printed.splitlines() if line.startswith("TOKEN ")}
    assert sorted(made) == sorted(TOKEN_HOLDERS), printed
    api_server._users.update(made)   # so that api_server.adduser() knows they exist
    return made


def make_client(server, token):
    # retry=None: a server error must fail the test at once, not be retried with backoff.
    return Github(base_url=server.url + "/api/v3", auth=Auth.Token(token) if token else None, retry=None,
                  timeout=60)


@pytest.fixture(scope="session")
def gh(api_server, tokens):
    """PyGithub as alice."""
    return make_client(api_server, tokens["alice"])


@pytest.fixture(scope="session")
def gh_bob(api_server, tokens):
    return make_client(api_server, tokens["bob"])


@pytest.fixture(scope="session")
def api(api_server, tokens):
    """Raw HTTP as alice; api_as(name or None) for others."""
    return Api(api_server.url + "/api/v3", tokens["alice"])


@pytest.fixture(scope="session")
def api_as(api_server, tokens):
    return lambda name: Api(api_server.url + "/api/v3", tokens[name] if name else None)


@pytest.fixture
def fresh_name(request):
    """A repository name no other test uses: the test's name and a counter."""
    base = request.node.name.split("[")[0].replace("test_", "")[:40].replace("_", "-")
    return lambda: f"{base}-{next(_names)}"


def write_files(work, files):
    for path, content in files.items():
        target = Path(work) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


@pytest.fixture
def pushed_repo(api_server, tokens, tmp_path, fresh_name):
    """pushed_repo(commits=[{path: content}, ...], branches={name: [{path: content}, ...]}, private=False)
    -> "alice/NAME": a repository made by alice and pushed with git, one commit per dict on main, then
    each branch forking from main's tip with its own commits. Returns the full name and the work tree."""
    def make(commits=({"README.md": "# hello\n"},), branches=None, private=False, owner="alice"):
        name = fresh_name()
        if owner in tokens:   # through the API: no manage.py start-up, which costs seconds on a busy machine
            made = Api(api_server.url + "/api/v3", tokens[owner]).post("/user/repos",
                                                                       json={"name": name, "private": private})
            assert made.status_code == 201, made.text
        else:
            api_server.createrepo(f"{owner}/{name}", private=private)
        work = tmp_path / name
        git("init", "-q", "-b", "main", str(work))
        for number, files in enumerate(commits, 1):
            write_files(work, files)
            git("-C", str(work), "add", "-A")
            git("-C", str(work), "commit", "-q", "-m", f"commit {number}")
        for branch, branch_commits in (branches or {}).items():
            git("-C", str(work), "checkout", "-q", "-b", branch, "main")
            for number, files in enumerate(branch_commits, 1):
                write_files(work, files)
                git("-C", str(work), "add", "-A")
                git("-C", str(work), "commit", "-q", "-m", f"{branch} {number}")
        git("-C", str(work), "checkout", "-q", "main")
        url = api_server.repo_url(owner, name, tokens[owner] if owner in tokens else tokens["alice"])
        git("-C", str(work), "push", "-q", url, "--all")
        git("-C", str(work), "push", "-q", url, "--tags")
        return f"{owner}/{name}", work

    return make


def clone(server, token, full_name, dest):
    owner, name = full_name.split("/")
    git("clone", "-q", server.repo_url(owner, name, token), str(dest))
    return dest


os.environ.setdefault("GITHUB_TOKEN", "")  # PyGithub must never reach github.com from these tests
