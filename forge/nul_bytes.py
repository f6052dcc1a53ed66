"""NUL characters in what a client sends.

A NUL can name nothing here: git forbids it in user and repository names, refs and paths. And PostgreSQL
refuses it in text (SQLite stores it), so an unchecked NUL that reached a query was a 500 on PostgreSQL
only. So, before anything looks it up:
- a path holding one names nothing: 404 (GitHub's JSON under /api/, and 422 for an API write to it);
- an API query string holding one is GitHub's 422, and a NUL anywhere in an API JSON body makes it a body
  that cannot be parsed (400, as django-ninja answers any parser refusal);
- a page's query values lose their NULs (a filter, a search, a `next=`): nothing they name can hold one.
Web forms need nothing: Django's form fields refuse NUL already."""
import json
from urllib.parse import unquote_to_bytes

from django.http import Http404, JsonResponse, QueryDict
from ninja.parser import Parser

NUL = "\x00"


def has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Imported here: forge.api loads every API route, which this module must not do at start-up.
        from forge.api import DOCUMENTATION_URL, api_not_found, with_rate_limit_headers

        def invalid(message):
            return with_rate_limit_headers(request, JsonResponse(
                {"message": "Validation Failed", "errors": [{"code": "invalid", "message": message}],
                 "documentation_url": DOCUMENTATION_URL}, status=422))

        api = request.path_info.startswith("/api/")
        if NUL in request.path_info:
            if not api:
                raise Http404("A NUL character names nothing here.")
            if request.method in ("GET", "HEAD"):
                return api_not_found(request)
            return invalid("Paths may not contain NUL characters.")  # a write to such a path
        if b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
            if api:
                return invalid("Query parameters may not contain NUL characters.")
            request.GET = _without_nul(request.GET)
        return self.get_response(request)


def _without_nul(query: QueryDict) -> QueryDict:
    cleaned = QueryDict(mutable=True)
    for key, values in query.lists():
        cleaned.setlist(key.replace(NUL, ""), [value.replace(NUL, "") for value in values])
    cleaned._mutable = False
    return cleaned


class RefuseNulParser(Parser):
    """The API's JSON parser: a NUL anywhere in the body is refused as a body that cannot be parsed (400,
    as django-ninja answers any parser refusal), with nothing changed."""

    def parse_body(self, request):
        data = json.loads(request.body)
        if has_nul(data):
            raise ValueError("strings may not contain NUL characters (\\u0000)")
        return data
