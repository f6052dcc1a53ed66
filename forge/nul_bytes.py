"""NUL characters in what a client sends.

A NUL can name nothing here: git forbids it in user and repository names, refs and paths. And PostgreSQL
refuses it in text (SQLite stores it), so an unchecked NUL that reached a query was a 500 on PostgreSQL
only. The middleware refuses a request whose path or query string holds one, before anything looks it up;
`parse_json` refuses one anywhere in an API request's JSON body. Web forms need nothing: Django's form
fields refuse NUL already."""
import json
from urllib.parse import unquote_to_bytes

from django.http import HttpResponseBadRequest
from ninja.parser import Parser


def has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
            return HttpResponseBadRequest("A NUL character names nothing here.\n", content_type="text/plain")
        return self.get_response(request)


class RefuseNulParser(Parser):
    """The API's JSON parser: a NUL anywhere in the body is refused as a body that cannot be parsed (400,
    as django-ninja answers any parser refusal), with nothing changed."""

    def parse_body(self, request):
        data = json.loads(request.body)
        if has_nul(data):
            raise ValueError("strings may not contain NUL characters (\\u0000)")
        return data
