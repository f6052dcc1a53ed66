"""What a request that failed with an unexpected exception is answered (Django's handler500).

Storage trouble that passes is not a bug: the disk is full, or a database stayed locked past its
timeout. Those get 503 Service Unavailable with Retry-After, and a message saying so; the transaction
was rolled back, so nothing was changed. Anything else is a 500. The page is plain HTML with no
template, so that it renders whatever else is broken; the API gets GitHub's JSON error body.
"""
import sys

from django.http import HttpResponse, JsonResponse

RETRY_AFTER_SECONDS = 30
# Lower-cased fragments of the messages SQLite and PostgreSQL give for these conditions.
TRANSIENT_STORAGE_ERRORS = (
    "database or disk is full",      # SQLite, SQLITE_FULL
    "no space left on device",       # PostgreSQL ("could not extend file ...") and the OS
    "database is locked",            # SQLite, busy past its timeout
    "disk quota exceeded",
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Forge</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


def storage_trouble(error: BaseException | None) -> bool:
    while error is not None:
        if any(fragment in str(error).lower() for fragment in TRANSIENT_STORAGE_ERRORS):
            return True
        error = error.__cause__ or error.__context__
    return False


def server_error(request):
    error = sys.exc_info()[1]  # Django calls this inside its `except` block
    if storage_trouble(error):
        status, title = 503, "Service unavailable"
        message = ("The server cannot store anything right now (its disk is full or busy). "
                   "Nothing was changed; try again later.")
    else:
        status, title = 500, "Server error"
        message = "Something went wrong on our side. It has been logged."
    if request.path.startswith("/api/"):
        from forge.api import DOCUMENTATION_URL

        response = JsonResponse({"message": message, "documentation_url": DOCUMENTATION_URL}, status=status)
    else:
        response = HttpResponse(PAGE.format(title=title, message=message), status=status,
                                content_type="text/html; charset=utf-8")
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
