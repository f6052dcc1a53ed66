"""The first middleware: gives every request an id, and logs one JSON line and one latency sample for it.

The id is the client's X-Request-Id when it is sane (logs.pick_request_id), else a new one; it is on
`request.request_id`, in the X-Request-Id response header, and on every log record emitted while the
request runs. It stays in the thread's context after the view returns, because a streamed body (a
clone) and a response's close-time housekeeping (after a push) are still that request's work; the next
request on the thread replaces it.

The line is written when the response is complete: at once for an ordinary response, and when a
streamed one is closed (so a clone's duration and byte count are the real ones). It holds the path
only, never the query string (a token may be passed there) nor any header.
"""
import logging
import time

from django.conf import settings
from django.http import FileResponse

from forge.observability import logs, metrics

log = logging.getLogger("forge.request")

# Polled often; their successful answers are not worth a log line each (they still count in metrics).
QUIET_ROUTES = frozenset({"ops-health", "ops-metrics"})


class RequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        request.request_id = logs.pick_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        logs.set_request_id(request.request_id)
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        if response.streaming and not isinstance(response, FileResponse):
            response.streaming_content = _Tally(response.streaming_content, request, response, started)
        else:
            # A FileResponse (a static file from whitenoise) keeps its file so gunicorn can sendfile() it.
            _finish(request, response, started, _known_length(response))
        return response


class _Tally:
    """Passes a streamed body through, counting its bytes; logs the request when the server closes it."""

    def __init__(self, chunks, request, response, started):
        self.chunks = iter(chunks)
        self.request, self.response, self.started = request, response, started
        self.sent = 0
        self._done = False

    def __iter__(self):
        return self

    def __next__(self):
        chunk = next(self.chunks)
        self.sent += len(chunk)
        return chunk

    def close(self):
        if not self._done:
            self._done = True
            _finish(self.request, self.response, self.started, self.sent)


def _known_length(response):
    if not response.streaming:
        return len(response.content)
    length = response.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _finish(request, response, started, nbytes):
    seconds = time.monotonic() - started
    route = route_name(request)
    metrics.observe_request(route, request.method, response.status_code, seconds)
    if route in QUIET_ROUTES and response.status_code < 400:
        return
    actor = getattr(request, "actor", None)
    log.info(
        "%s %s %s", request.method, request.path, response.status_code,
        extra={
            "request_id": request.request_id,
            "method": request.method,
            "path": request.path,  # never the query string: it may carry a token
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "bytes": nbytes,
            "route": route,
            "actor": actor.name if actor else None,
            "actor_kind": actor.kind if actor else None,
            "remote_addr": request.META.get("REMOTE_ADDR"),
        },
    )


def route_name(request) -> str:
    """The resolved URL name (bounded, unlike paths): 'static' for whitenoise's files, 'unmatched' for 404s."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return match.view_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"
