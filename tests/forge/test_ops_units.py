"""Operations through the Django test client (one process, no gunicorn): health failures, metrics from the
process's own registry, who may read them, and the pieces the live tests cannot steer."""
import json
import logging
import re
import sys

import pytest
from django.db import connections
from prometheus_client import REGISTRY

from forge.observability import logs, metrics
from forge.observability.views import _check_database


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- health ---------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_health_is_ok_from_the_test_client(client):
    response = client.get("/-/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.django_db
def test_health_fails_with_503_naming_the_data_directory(client, settings, tmp_path):
    settings.FORGE_DATA_DIR = tmp_path / "gone"
    response = client.get("/-/health")
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "checks": {"database": "ok", "data_dir": "error: missing"}}


@pytest.mark.django_db
def test_database_check_fails_when_the_database_does_not_answer(tmp_path):
    default = connections["default"]
    broken_settings = {**default.settings_dict, "NAME": str(tmp_path / "no" / "such" / "dir" / "db.sqlite3")}
    if default.vendor == "postgresql":
        broken_settings.update(NAME="forge_no_such_database", PORT="1")
    broken = type(default)(broken_settings, alias="health-probe")
    try:
        assert _check_database(broken).startswith("error: ")
    finally:
        broken.close()
    assert _check_database() == "ok"


def test_health_only_answers_reads(client):
    assert client.post("/-/health").status_code == 405


# --- metrics in one process -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_metrics_from_the_process_registry_without_gunicorn(client):
    before = sample("forge_http_request_duration_seconds_count", route="ops-health", method="GET", status="2xx")
    client.get("/-/health")
    client.get("/-/health")
    response = client.get("/-/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    line = re.search(r'^forge_http_request_duration_seconds_count\{(?=[^}]*route="ops-health")'
                     r'(?=[^}]*method="GET")(?=[^}]*status="2xx")[^}]*\} (\S+)$', text, re.MULTILINE)
    assert line and float(line.group(1)) == before + 2


@pytest.mark.django_db
def test_unmatched_paths_are_one_route(client):
    before = sample("forge_http_request_duration_seconds_count", route="unmatched", method="GET", status="4xx")
    for path in ("/o/n/nothing/here", "/o/n/no/such/page/at/all"):
        assert client.get(path).status_code == 404
    after = sample("forge_http_request_duration_seconds_count", route="unmatched", method="GET", status="4xx")
    assert after == before + 2


def test_metrics_readers_are_limited_by_forge_metrics_allow(client, monkeypatch):
    assert client.get("/-/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200  # unset: everyone
    monkeypatch.setenv("FORGE_METRICS_ALLOW", "10.0.0.0/8, ::1, 192.0.2.7")
    assert client.get("/-/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/-/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/-/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/-/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/-/metrics", REMOTE_ADDR="::1").status_code == 200
    monkeypatch.setenv("FORGE_METRICS_ALLOW", "not-an-address")
    assert client.get("/-/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_git_stream_counts_bytes_and_its_end(request):
    service = f"test-{request.node.name}"
    stream = metrics.GitSendStream(service, iter([b"abc", b"", b"defg"]))
    assert b"".join(stream) == b"abcdefg"
    assert sample("forge_git_sent_bytes_total", service=service) == 7
    assert sample("forge_git_operations_total", service=service, result="ok") == 1
    stream.close()  # the server closes every response: no second count
    assert sample("forge_git_operations_total", service=service, result="aborted") == 0

    cut = metrics.GitSendStream(service, iter([b"x" * 10, b"y" * 10]))
    next(cut)
    cut.close()  # the client went away mid-stream
    assert sample("forge_git_operations_total", service=service, result="aborted") == 1
    assert sample("forge_git_sent_bytes_total", service=service) == 17

    def failing():
        yield b"z"
        raise ValueError("broken pack")

    broken = metrics.GitSendStream(service, failing())
    with pytest.raises(ValueError):
        list(broken)
    assert sample("forge_git_operations_total", service=service, result="error") == 1


def test_counting_reader_counts_what_is_read():
    import io

    reader = metrics.CountingReader(io.BytesIO(b"0123456789"))
    assert reader.read(4) == b"0123" and reader.read() == b"456789" and reader.read(5) == b""
    assert reader.count == 10


# --- request ids and the JSON formatter -----------------------------------------------------------------------

def test_request_id_choice():
    assert logs.pick_request_id("abc.DEF_1-2") == "abc.DEF_1-2"
    for bad in (None, "", "a b", "x" * 65, "é", "a\nb", "a/b"):
        assert re.fullmatch(r"[0-9a-f]{32}", logs.pick_request_id(bad))


@pytest.mark.django_db
def test_the_test_client_sees_the_request_id_header(client):
    assert client.get("/-/health", HTTP_X_REQUEST_ID="given-1")["X-Request-Id"] == "given-1"


def test_json_formatter_keeps_extras_request_id_and_tracebacks():
    formatter = logs.JsonFormatter()
    filt = logs.RequestIdFilter()
    logs.set_request_id("rid-42")
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            record = logging.getLogger("forge.test").makeRecord(
                "forge.test", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info(),
                extra={"route": "home", "odd": object()})
        filt.filter(record)
        line = json.loads(formatter.format(record))
    finally:
        logs.set_request_id(None)
    assert line["message"] == "failed here" and line["level"] == "ERROR" and line["logger"] == "forge.test"
    assert line["request_id"] == "rid-42" and line["route"] == "home"
    assert "RuntimeError: boom" in line["exc"] and line["odd"].startswith("<object")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
