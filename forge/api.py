"""The GitHub-compatible REST API under /api/v3 (django-ninja, which generates /api/v3/openapi.json
from the routes' typed signatures).

Who is calling: a token (Authorization: token|Bearer|Basic, resolved by accounts.middleware) or a
trusted proxy's actor. A browser session's cookie is ignored, as GitHub's API ignores it: the API
then needs no CSRF defence, and a page elsewhere cannot make a signed-in browser call it.
Errors answer GitHub's body, {"message": …, "documentation_url": …}.
"""
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import ValidationError

from accounts.actor import ANONYMOUS, Actor
from accounts.middleware import SESSION

DOCUMENTATION_URL = "https://docs.github.com/rest"

api = NinjaAPI(title="Forge", version="3", urls_namespace="api", docs_url=None)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


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


def _error(request, status, message):
    return api.create_response(request, {"message": message, "documentation_url": DOCUMENTATION_URL},
                               status=status)


@api.exception_handler(ApiError)
def _api_error(request, error):
    return _error(request, error.status, error.message)


@api.exception_handler(Http404)
def _not_found(request, error):
    return _error(request, 404, "Not Found")


@api.exception_handler(ValidationError)
def _invalid(request, error):
    return _error(request, 422, "Validation Failed")


def _routes():
    # Imported here: the route modules import this one for ApiError and the actor helpers.
    from accounts.api import router as accounts_router
    from repos.api import router as repos_router

    api.add_router("", accounts_router)
    api.add_router("", repos_router)


_routes()
