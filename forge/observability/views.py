"""/-/health and /-/metrics: no sessions, no auth, cheap enough to be polled."""
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from forge.observability import metrics

# Below this much free space a push cannot land; the health check says so before users find out.
MIN_FREE_BYTES = 1024 * 1024


@never_cache
@require_safe
def health(request):
    """200 {"status": "ok", "checks": {...}} when the main database answers and the data directory is
    writable with room left; 503 {"status": "fail", ...} naming the failing check otherwise."""
    checks = {"database": _check_database(), "data_dir": _check_data_dir(settings.FORGE_DATA_DIR)}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)


def _check_database(db=None) -> str:
    try:
        with (db or connection).cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 -- any failure to answer is the answer
        return f"error: {type(error).__name__}"
    return "ok"


def _check_data_dir(path) -> str:
    # os.access and statvfs only: no file is written, so polling costs nothing.
    if not os.path.isdir(path):
        return "error: missing"
    if not os.access(path, os.W_OK | os.X_OK):
        return "error: not writable"
    try:
        stat = os.statvfs(path)
    except OSError as error:
        return f"error: {error.strerror}"
    if stat.f_flag & os.ST_RDONLY:
        return "error: read-only file system"
    if stat.f_bavail * stat.f_frsize < MIN_FREE_BYTES:
        return "error: disk full"
    return "ok"


@never_cache
@require_safe
def prometheus_metrics(request):
    if not metrics.metrics_allowed(request.META.get("REMOTE_ADDR")):
        return HttpResponse("Metrics are not served to this address (FORGE_METRICS_ALLOW).\n", status=403,
                            content_type="text/plain")
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
