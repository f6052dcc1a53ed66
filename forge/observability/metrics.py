"""Prometheus metrics (prometheus-client) and the hooks that feed them.

Under gunicorn, forge/gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh directory before any
worker starts, so every worker writes its samples there and whichever worker answers /-/metrics adds
them all up. Without it (the Django test client, `manage.py runserver`) the process's own registry is
served. Labels are bounded: route NAMES (never paths), HTTP method, status class, git service, result.
"""
import functools
import ipaddress
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# Latency from a request's arrival until the last byte of its response went out (a clone is one long
# request), so the buckets reach into minutes.
REQUEST_SECONDS = Histogram(
    "forge_http_request_duration_seconds",
    "Time from a request's arrival until its response was sent, by route name, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
GIT_OPERATIONS = Counter(
    "forge_git_operations",
    "Git smart HTTP operations (the POSTs of fetches, clones and pushes) by service and result: "
    "ok, rejected (a push of which not every ref update landed), denied (access), error, aborted (client gone).",
    ["service", "result"],
)
GIT_SENT_BYTES = Counter("forge_git_sent_bytes", "Bytes of git responses sent (fetches and clones).", ["service"])
GIT_RECEIVED_BYTES = Counter("forge_git_received_bytes", "Bytes of git requests received (pushes).", ["service"])

CONTENT_TYPE = CONTENT_TYPE_LATEST

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    REQUEST_SECONDS.labels(route, method, f"{status // 100}xx").observe(seconds)


def exposition() -> bytes:
    """The text exposition of every metric: all workers' when running under gunicorn."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# --- who may read /-/metrics -----------------------------------------------------------------------------------
def metrics_allowed(remote_addr: str | None) -> bool:
    """FORGE_METRICS_ALLOW: comma-separated addresses or CIDR blocks; unset means everyone."""
    networks = _allowed_networks(os.environ.get("FORGE_METRICS_ALLOW", ""))
    if networks is None:
        return True
    try:
        address = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        return False
    return any(address in network for network in networks)


@functools.lru_cache(maxsize=4)
def _allowed_networks(value: str):
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        return None
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            pass  # an unparsable entry allows no one rather than failing every scrape with a 500
    return tuple(networks)


# --- git hooks (repos/views/git_http.py) -----------------------------------------------------------------------
def git_operation(service: str, result: str, *, received: int = 0) -> None:
    GIT_OPERATIONS.labels(service, result).inc()
    if received:
        GIT_RECEIVED_BYTES.labels(service).inc(received)


def counts_git_errors(service: str):
    """Decorates a git view: an exception escaping it (a 500) counts as an `error` operation."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except Exception:
                git_operation(service, "error")
                raise
        return wrapped
    return decorate


class CountingReader:
    """A request body (wsgi.input) that counts the bytes read from it."""

    def __init__(self, raw):
        self.raw = raw
        self.count = 0

    def read(self, *args):
        data = self.raw.read(*args)
        self.count += len(data)
        return data


class GitSendStream:
    """Streams a git response, counting bytes as each chunk goes out; records the operation once:
    ok when the stream ran to its end, error when it raised, aborted when closed before its end."""

    def __init__(self, service: str, chunks):
        self.service = service
        self.chunks = iter(chunks)
        self.sent = 0
        self._recorded = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            chunk = next(self.chunks)
        except StopIteration:
            self._record("ok")
            raise
        except BaseException:
            self._record("error")
            raise
        if chunk:
            self.sent += len(chunk)
            GIT_SENT_BYTES.labels(self.service).inc(len(chunk))
        return chunk

    def close(self):
        self._record("aborted")
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()

    def _record(self, result):
        if not self._recorded:
            self._recorded = True
            git_operation(self.service, result)
