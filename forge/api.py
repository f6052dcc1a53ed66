"""The GitHub-compatible REST API under /api/v3 (django-ninja, which generates /api/v3/openapi.json
from the routes' typed signatures).

Who is calling: a token (Authorization: token|Bearer|Basic, resolved by accounts.middleware) or a
trusted proxy's actor. A browser session's cookie is ignored, as GitHub's API ignores it: the API
then needs no CSRF defence, and a page elsewhere cannot make a signed-in browser call it.
Errors answer GitHub's body, {"message": …, "documentation_url": …} (and "errors" for a 422).
Every route declares each status it can answer with its schema, so the generated document is the
whole contract (schemathesis holds the responses to it).
"""
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.errors import HttpError as NinjaHttpError

from accounts.actor import ANONYMOUS, Actor
from accounts.middleware import SESSION
from forge.nul_bytes import RefuseNulParser

DOCUMENTATION_URL = "https://docs.github.com/rest"
API_PREFIX = "/api/v3"

# Credentials are read by accounts.middleware for every request (git, pages and API alike), so the
# routes declare no django-ninja auth; the document still says how to send them.
SECURITY_SCHEMES = {
    "token": {"type": "apiKey", "in": "header", "name": "Authorization",
              "description": "`token TOKEN` (GitHub's form) or `Bearer TOKEN`: an agent token from /settings/tokens."},
    "bearer": {"type": "http", "scheme": "bearer"},
}


class ForgeApi(NinjaAPI):
    def create_response(self, request, data, *args, **kwargs):
        return with_rate_limit_headers(request, super().create_response(request, data, *args, **kwargs))

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        schema["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        # Anonymous callers may read public repositories; a route that needs more answers 401.
        schema["security"] = [{}, {"token": []}, {"bearer": []}]
        _document_common_refusals(schema)
        return schema


def with_rate_limit_headers(request, response):
    """Every answer carries GitHub's rate-limit headers: clients such as PyGithub pace themselves on them."""
    from accounts.api import rate_limit_headers

    resource = "search" if request.path.startswith(API_PREFIX + "/search/") else "core"
    for name, value in rate_limit_headers(resource).items():
        response.headers.setdefault(name, value)
    return response


def _document_common_refusals(schema) -> None:
    """Answers any route can give without saying so itself: 401 for credentials that are bad
    (accounts.middleware refuses an unknown, revoked or expired token before any route runs),
    400 "Problems parsing JSON" for a body that is not JSON, and 422 "Validation Failed" for
    parameters or a body of the wrong type (django-ninja checks them before the route runs)."""
    schema["components"]["schemas"].setdefault("ErrorOut", ErrorOut.json_schema())
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    from repos.api.common import MovedOut

    schema["components"]["schemas"].setdefault("MovedOut", MovedOut.json_schema())
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            declared = {str(status) for status in responses}
            if "401" not in declared:
                responses[401] = {**error, "description": "Bad credentials"}
            if "requestBody" in operation and "400" not in declared:
                responses[400] = {**error, "description": "Problems parsing JSON"}
            if (operation.get("parameters") or "requestBody" in operation) and "422" not in declared:
                responses[422] = {**error, "description": "Validation Failed"}
            if path.startswith(API_PREFIX + "/repos/{owner}/{repo}"):
                # repos.api.common.accessible() redirects a renamed repository's old name.
                for status, what in ((301, "Moved Permanently"), (307, "Temporary Redirect")):
                    if str(status) not in declared:
                        responses[status] = {"description": what, "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/MovedOut"}}}}


api = ForgeApi(title="Forge", version="3", urls_namespace="api", docs_url=None, parser=RefuseNulParser(),
               description="GitHub-compatible REST API of Forge (as GitHub Enterprise serves it under /api/v3).")


class ErrorOut(Schema):
    message: str
    documentation_url: str
    errors: list[dict[str, Any]] | None = None


def errors(*statuses: int) -> dict:
    """The error part of a route's `response=` mapping: errors(404, 422) -> {404: ErrorOut, 422: ErrorOut}."""
    return {status: ErrorOut for status in statuses}


class ApiError(Exception):
    """Answered as GitHub answers: `status` with {"message", "documentation_url"[, "errors"]}."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def invalid(message: str, *, resource: str = "", field: str = "", code: str = "invalid") -> ApiError:
    """GitHub's 422 with one entry in "errors" saying which field of which resource is wrong."""
    return ApiError(422, "Validation Failed",
                    [{"resource": resource, "field": field, "code": code, "message": message}])


def api_actor(request) -> Actor:
    if getattr(request, "actor_source", None) == SESSION:
        return ANONYMOUS
    return request.actor


def require_authentication(request) -> Actor:
    actor = api_actor(request)
    if actor.is_anonymous:
        raise ApiError(401, "Requires authentication")
    return actor


def require_scope(actor: Actor, scope: str) -> None:
    if not actor.has_scope(scope):
        raise ApiError(403, f"This token lacks the {scope} scope.")


def api_url(request, path: str) -> str:
    """The absolute URL of an API path ("/repos/o/r" -> http://host/api/v3/repos/o/r)."""
    return request.build_absolute_uri(API_PREFIX + path)


def web_url(request, path: str) -> str:
    """The absolute URL of a page ("/o/r/commit/…")."""
    return request.build_absolute_uri(path)


# --- pagination: GitHub's page / per_page with a Link header ------------------------------------------

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
# Past this, a page is certainly empty; the cap keeps offsets inside what SQL engines accept.
MAX_PAGE = 10_000_000


def as_utc(moment: datetime) -> datetime:
    """A client's timestamp as UTC (UTC when it names no offset), for comparing in the database.

    PostgreSQL refuses offsets past ±15:59 that Python accepts (`+17:06`), and a moment near year 1
    or 9999 may not survive the conversion: those are clamped to the earliest or latest moment."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year < 5000 else datetime.max.replace(tzinfo=UTC)


class Page:
    """`page` and `per_page` as GitHub reads them (per_page over 100 counts as 100, nonsense as the
    defaults), and the Link header that points to the other pages."""

    def __init__(self, page: int | None, per_page: int | None):
        self.number = min(page, MAX_PAGE) if page and page > 0 else 1
        self.size = min(per_page, MAX_PER_PAGE) if per_page and per_page > 0 else DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def take(self, request, response, items) -> list:
        """This page of `items` (a list or a queryset, counted once), with first/prev/next/last links."""
        total = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
        last = max(1, -(-total // self.size))
        self.link(request, response, has_next=self.number < last, last=last)
        if self.offset >= total:
            return []
        return list(items[self.offset:self.offset + self.size])

    def take_open(self, request, response, fetched) -> list:
        """For lists too costly to count (commits): `fetched` holds up to size + 1 items from
        `offset`; the extra one only says a next page exists. No "last" link, as GitHub's commit
        lists give none either."""
        fetched = list(fetched)
        self.link(request, response, has_next=len(fetched) > self.size)
        return fetched[:self.size]

    def link(self, request, response, *, has_next: bool, last: int | None = None) -> None:
        links = []
        if has_next:
            links.append((self.number + 1, "next"))
            if last is not None:
                links.append((last, "last"))
        if self.number > 1:
            links.append((1, "first"))
            links.append((self.number - 1, "prev"))
        if links:
            response["Link"] = ", ".join(f'<{self._url(request, n)}>; rel="{rel}"' for n, rel in links)

    def _url(self, request, number: int) -> str:
        query = [(k, v) for k, v in request.GET.items() if k not in ("page", "per_page")]
        query += [("page", number), ("per_page", self.size)]
        return request.build_absolute_uri(request.path) + "?" + urlencode(query)


# --- errors as GitHub gives them ----------------------------------------------------------------------

def _error(request, status, message, errors=None):
    body = {"message": message, "documentation_url": DOCUMENTATION_URL}
    if errors:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(ApiError)
def _api_error(request, error):
    return _error(request, error.status, error.message, error.errors)


@api.exception_handler(Http404)
def _not_found(request, error):
    return _error(request, 404, "Not Found")


@api.exception_handler(ValidationError)
def _invalid(request, error):
    details = []
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "payload")]
        details.append({"resource": "", "field": ".".join(location), "code": "invalid",
                        "message": str(item.get("msg", "invalid"))})
    return _error(request, 422, "Validation Failed", details)


@api.exception_handler(NinjaHttpError)
def _http_error(request, error):
    # django-ninja's own refusals, such as a body that is not JSON (GitHub: 400 Problems parsing JSON).
    status = error.status_code
    return _error(request, status, "Problems parsing JSON" if status == 400 else str(error))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, error):
    return _error(request, 401, "Requires authentication")


def api_not_found(request, *args, **kwargs):
    """A path under /api/v3/ that no route matches."""
    return with_rate_limit_headers(
        request, JsonResponse({"message": "Not Found", "documentation_url": DOCUMENTATION_URL}, status=404))


def _routes():
    # Imported here: the route modules import this one for ApiError and the actor helpers.
    from accounts.api import router as accounts_router
    from issues.api import routers as issues_routers
    from repos.api import routers as repos_routers

    api.add_router("", accounts_router)
    for router in (*repos_routers, *issues_routers):
        api.add_router("", router)


_routes()

