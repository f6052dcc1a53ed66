"""What the security tests share: raw HTTP requests (header names, duplicates and source addresses
exactly as written, which urllib and requests would normalise), and pushing a small repository with
real git."""
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.gitcli import git


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def raw_request(base_url: str, method: str, target: str, headers=(), body: bytes = b"",
                source: str | None = None, timeout: float = 30) -> RawResponse:
    """One HTTP/1.1 request written byte for byte (`headers` is a list of (name, value); names keep
    their case and underscores; repeats are sent repeated), the answer read to the end."""
    parts = urlsplit(base_url)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines if ":" in line]
    response = RawResponse(int(status_line.split()[1]), response_headers)
    if (response.header("Transfer-Encoding") or "").lower() == "chunked":
        rest = _dechunk(rest)
    response.body = rest
    return response


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return bytes(out)


def commit_files(work: Path, files: dict, message: str = "Add files", branch: str = "main") -> Path:
    """A fresh working repository at `work` with `files` ({path: text or bytes}) in one commit."""
    if not (work / ".git").exists():
        git("init", "-q", "-b", branch, work)
    for name, content in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "--allow-empty", "-m", message)
    return work


PROVISION = """
import json, sys
from accounts.services import create_user
from accounts.tokens import issue_token
from repos.services import create_repository
plan = json.loads(sys.argv[-1])
users, tokens = {}, {}
for name, scopes in plan["users"].items():
    users[name] = create_user(name, password=f"pw-{name}-secret")
    if scopes:
        tokens[name] = issue_token(users[name], label="security-test", scopes=scopes.split(","))[1]
for full_name, private in plan["repos"]:
    owner, name = full_name.split("/", 1)
    create_repository(users[owner], name, private=private)
print(json.dumps(tokens))
"""


def provision(server, users: dict, repos=()) -> dict:
    """Accounts (password f"pw-{name}-secret"), their tokens and repositories on a live server, in one
    manage.py process (each one costs a second or more): users {name: "scope,scope" or ""},
    repos [("owner/name", private)]. Returns {name: token}."""
    import json
    import subprocess
    plan = json.dumps({"users": users, "repos": list(repos)})
    boot = ("import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'forge.settings'); "
            "django.setup(); exec(sys.argv[1])")
    proc = subprocess.run([server.python, "-c", boot, PROVISION, plan], cwd=server.root, env=server.env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    server._users.update(users)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def site_routes():
    """Names of every route in forge.urls outside the API (which is checked by its own test below)."""
    from django.urls import URLPattern, URLResolver, get_resolver
    names = []

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if str(entry.pattern).startswith("api/"):
                    continue
                walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                names.append(f"{namespace}:{entry.name}" if namespace else entry.name)
            elif isinstance(entry, URLPattern):
                assert str(entry.pattern).startswith("^api/"), f"a route without a name: {entry.pattern}"

    walk(get_resolver().url_patterns, None)
    return names
