"""Operations on a live gunicorn Forge: /-/health, request ids and JSON logs, Prometheus metrics
aggregated over worker processes, whitenoise's hashed and compressed static files, the start banner."""
import gzip
import json
import os
import re
import time
import urllib.error
import urllib.request

import pytest
import requests

from tests.support.gitcli import fsck, git, out
from tests.support.servers import start_server

SECRETS = ("qs-secret-3f9a1c", "header-secret-77b2e0", "cookie-secret-c0ffee", "basic-secret-5d5d5d")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("ops") / "data", extra_env={"FORGE_WORKERS": "2"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pushed(server, tmp_path_factory):
    """alice/ops-repo pushed over HTTP with a token, then cloned anonymously: one receive-pack, one upload-pack."""
    token = server.token("alice")
    work = tmp_path_factory.mktemp("ops-work")
    src = work / "src"
    git("init", "-q", src)
    for i in range(20):
        (src / f"file{i}.txt").write_text(f"line {i}\n" * 500)
    git("-C", src, "add", ".")
    git("-C", src, "commit", "-q", "-m", "ops test content")
    git("-C", src, "push", "-q", server.repo_url("alice", "ops-repo", token), "main")
    clone = work / "clone"
    git("clone", "-q", server.repo_url("alice", "ops-repo"), clone)
    fsck(clone)
    assert out("-C", clone, "rev-parse", "HEAD") == out("-C", src, "rev-parse", "HEAD")
    return token


def log_lines(server):
    """The server log's JSON lines (Django's); gunicorn's own and the banner are plain text."""
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def wait_for_log(server, predicate, timeout=15):
    """The first JSON log line matching predicate: lines are written when a response is complete, which
    may be a moment after the client has read it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in log_lines(server) if predicate(line)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# --- health ---------------------------------------------------------------------------------------------------

def test_health_answers_ok_without_session_or_cache(server):
    response = requests.get(server.url + "/-/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "data_dir": "ok"}}
    assert "Set-Cookie" not in response.headers
    assert "no-cache" in response.headers["Cache-Control"]


# --- request ids and logs -------------------------------------------------------------------------------------

def test_request_id_is_echoed_and_on_the_request_log_line(server):
    response = requests.get(server.url + "/", headers={"X-Request-Id": "ops-test.1_A"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "ops-test.1_A"
    [line] = wait_for_log(server, lambda line: line.get("request_id") == "ops-test.1_A")
    assert line["logger"] == "forge.request" and line["level"] == "INFO"
    assert line["method"] == "GET" and line["path"] == "/" and line["status"] == 200
    assert line["route"] == "home" and line["actor_kind"] == "anonymous"
    assert line["remote_addr"] == "127.0.0.1"
    assert line["bytes"] == len(response.content)
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0


@pytest.mark.parametrize("incoming", ["has space", "x" * 65, "semi;colon", ""])
def test_insane_request_ids_are_replaced_by_a_new_one(server, incoming):
    response = requests.get(server.url + "/-/health", headers={"X-Request-Id": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_each_request_gets_its_own_id(server):
    ids = {requests.get(server.url + "/-/health").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_records_emitted_during_a_request_carry_its_id(server):
    # A POST without a CSRF token: Django's own logger (django.security.csrf) warns about it while the
    # request runs; the warning and the request line must carry the same id.
    response = requests.post(server.url + "/login", data={"username": "x", "password": "y"},
                             headers={"X-Request-Id": "csrf-probe-1"})
    assert response.status_code == 403
    wait_for_log(server, lambda line: line.get("request_id") == "csrf-probe-1" and line["logger"] == "forge.request")
    by_logger = {line["logger"]: line for line in log_lines(server) if line.get("request_id") == "csrf-probe-1"}
    assert by_logger["django.security.csrf"]["level"] == "WARNING"
    assert "CSRF" in by_logger["django.security.csrf"]["message"]
    assert by_logger["forge.request"]["status"] == 403


def test_git_requests_are_logged_with_route_actor_and_bytes(server, pushed):
    push = wait_for_log(server, lambda line: line.get("route") == "git-receive-pack" and line["status"] == 200)
    assert push and push[0]["actor"] == "alice" and push[0]["actor_kind"] == "agent"
    # protocol v2: one POST lists refs, the next fetches the pack
    posts = wait_for_log(server, lambda line: line.get("route") == "git-upload-pack")
    clone = max(posts, key=lambda line: line["bytes"])
    # the clone's body was streamed: its byte count is what went out, counted when the stream closed
    assert clone["status"] == 200 and clone["bytes"] > 1000
    assert clone["path"] == "/alice/ops-repo.git/git-upload-pack"


def test_tokens_never_reach_the_log(server, pushed):
    # in a query string (gunicorn's access log would print it), an Authorization header, a cookie,
    # and HTTP Basic in a git URL
    requests.get(f"{server.url}/alice/ops-repo?access_token={SECRETS[0]}&token={SECRETS[0]}",
                 headers={"X-Request-Id": "secret-probe-1"})
    requests.get(f"{server.url}/api/v3/user?access_token={SECRETS[0]}",
                 headers={"Authorization": f"token {SECRETS[1]}", "X-Request-Id": "secret-probe-2"})
    requests.get(server.url + "/", cookies={"sessionid": SECRETS[2]}, headers={"X-Request-Id": "secret-probe-3"})
    git("ls-remote", server.repo_url("alice", "ops-repo", SECRETS[3]), check=False)
    git("ls-remote", server.repo_url("alice", "ops-repo", pushed))
    lines = wait_for_log(server, lambda line: line.get("request_id") in ("secret-probe-1", "secret-probe-2"))
    assert {line["path"] for line in lines} == {"/alice/ops-repo", "/api/v3/user"}
    assert wait_for_log(server, lambda line: line.get("status") == 401 and line.get("route") == "git-info-refs")
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    for secret in (*SECRETS, pushed):
        assert secret not in log
    assert "access_token" not in log


def test_every_django_log_line_is_json_with_a_request_id_and_gunicorn_has_no_access_log(server, pushed):
    requests.get(server.url + "/?page=2")
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    json_lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert json_lines and all("request_id" in line for line in json_lines if line["logger"].startswith("forge"))
    # gunicorn's access lines ('"GET / HTTP/1.1" 200') would duplicate the JSON ones
    assert not re.search(r'"(GET|POST) \S+ HTTP/1\.[01]" \d{3}', text)


# --- metrics --------------------------------------------------------------------------------------------------

def scrape(server):
    response = requests.get(server.url + "/-/metrics", headers={"Connection": "close"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse_metrics(response.text)


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} from the text exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        assert match, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def value(samples, name, **labels):
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_metrics_add_up_every_worker_even_after_they_died(server, pushed):
    before = scrape(server)
    assert value(before, "forge_git_operations_total", service="upload-pack", result="ok") >= 1
    assert value(before, "forge_git_operations_total", service="receive-pack", result="ok") >= 1
    # Every worker that served the push and the clone is killed: the answer now comes from workers that
    # served neither, and still counts them (prometheus-client's multiprocess files).
    old = server.kill_workers()
    server.wait_respawned(old)
    after = scrape(server)
    for name, labels in [
        ("forge_git_operations_total", {"service": "upload-pack", "result": "ok"}),
        ("forge_git_operations_total", {"service": "receive-pack", "result": "ok"}),
        ("forge_git_sent_bytes_total", {"service": "upload-pack"}),
        ("forge_git_received_bytes_total", {"service": "receive-pack"}),
        ("forge_http_request_duration_seconds_count", {"route": "git-upload-pack", "method": "POST",
                                                       "status": "2xx"}),
    ]:
        assert value(after, name, **labels) >= value(before, name, **labels) > 0, name
    assert value(after, "forge_git_sent_bytes_total", service="upload-pack") > 1000
    assert value(after, "forge_git_received_bytes_total", service="receive-pack") > 1000


def test_metrics_are_labelled_by_route_name_not_path(server, pushed):
    requests.get(server.url + "/alice/ops-repo/tree/main")
    requests.get(server.url + "/alice/ops-repo/blob/main/file1.txt")
    samples = scrape(server)
    routes = {dict(labels).get("route") for (name, labels) in samples
              if name.startswith("forge_http_request_duration_seconds")}
    assert {"tree", "blob", "home", "git-upload-pack", "git-receive-pack"} <= routes
    assert not any("/" in route for route in routes if route)
    statuses = {dict(labels).get("status") for (name, labels) in samples if name.startswith("forge_http")}
    assert statuses <= {"1xx", "2xx", "3xx", "4xx", "5xx", None}


# --- static files (whitenoise) --------------------------------------------------------------------------------

def test_static_files_are_hashed_compressed_and_cached_forever(server):
    page = requests.get(server.url + "/").text
    match = re.search(r'<link[^>]+rel="stylesheet"[^>]+href="(/static/[^"]+)"', page) or \
        re.search(r'<link[^>]+href="(/static/[^"]+\.css)"', page)
    assert match, "no stylesheet link on the home page"
    href = match.group(1)
    assert re.fullmatch(r"/static/forge\.[0-9a-f]{12}\.css", href), href

    plain = urllib.request.urlopen(urllib.request.Request(server.url + href,
                                                          headers={"Accept-Encoding": "identity"}))
    body = plain.read()
    assert plain.headers.get("Content-Encoding") is None and b"{" in body

    compressed = urllib.request.urlopen(urllib.request.Request(server.url + href,
                                                               headers={"Accept-Encoding": "gzip"}))
    raw = compressed.read()
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert len(raw) < len(body) and gzip.decompress(raw) == body
    cache = compressed.headers["Cache-Control"]
    assert "immutable" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600


def test_unhashed_static_names_are_not_cached_forever(server):
    try:
        response = urllib.request.urlopen(server.url + "/static/forge.css")
    except urllib.error.HTTPError as error:  # served only under its hashed name: fine too
        assert error.code == 404
        return
    assert "immutable" not in (response.headers.get("Cache-Control") or "")


# --- start banner and the master's database connection ------------------------------------------------------

def test_banner_says_where_to_listen_and_how_to_start(server):
    log = server.log_tail(200_000)
    assert f"Forge is listening on {server.url}" in log
    # the data directory was empty at start: the first account is made by signing up
    assert f"create the first account (it becomes the admin) at {server.url}/signup" in log
    assert log.count("No accounts yet") == 1  # once per start, not once per worker


def test_master_holds_no_database_file_open(server, pushed):
    fds = os.listdir(f"/proc/{server.master_pid}/fd")
    targets = []
    for fd in fds:
        try:
            targets.append(os.readlink(f"/proc/{server.master_pid}/fd/{fd}"))
        except OSError:
            pass
    assert not [t for t in targets if "sqlite3" in t], targets
    # a worker, by contrast, does (its pool threads keep connections): the check above can see them
    worker_targets = []
    requests.get(server.url + "/")
    for pid in server.worker_pids():
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                worker_targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    assert any("forge.sqlite3" in t for t in worker_targets) or os.environ.get("FORGE_TEST_DATABASE_URL")
