"""Resolves every request to exactly one Actor (accounts.actor) before any view runs.

In order:
1. a trusted proxy (FORGE_TRUSTED_PROXIES) that sends X-Forge-Actor-Kind names the actor;
2. otherwise client-sent X-Forge-Actor-* headers are dropped, and an Authorization header
   carrying a token (Basic with the token as password, Bearer, or `token`) makes an agent;
   a presented token that is not valid is answered 401 at once;
3. otherwise the session's user, or anonymous.
The result is `request.actor` (and `request.actor_source`, which of the three made it), and is written back as the X-Forge-Actor-* request headers.
"""
import base64
import binascii
import ipaddress
import json

from django.conf import settings
from django.http import HttpResponse

from accounts.actor import AGENT, ANONYMOUS, USER, Actor, agent_actor, user_actor
from accounts.scopes import ALL_SCOPES
from accounts.selectors import get_user
from accounts.tokens import authenticate_token

HEADER_PREFIX = "HTTP_X_FORGE_ACTOR_"


class BadCredentials(Exception):
    """Credentials were presented and are not valid."""


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            actor, source = resolve_actor(request)
        except BadCredentials:
            return unauthorized(api=request.path.startswith("/api/"))
        request.actor = actor
        request.actor_source = source
        _write_actor_headers(request.META, actor)
        return self.get_response(request)


def unauthorized(message: str = "Bad credentials", api: bool = False) -> HttpResponse:
    if api:  # GitHub's error body, which API clients parse
        body = json.dumps({"message": message, "documentation_url": "https://docs.github.com/rest"})
        response = HttpResponse(body, status=401, content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(message + "\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Basic realm="Forge"'
    return response


PROXY, TOKEN, SESSION = "proxy", "token", "session"


def resolve_actor(request) -> tuple[Actor, str | None]:
    """The actor and what established it: PROXY, TOKEN, SESSION, or None for anonymous."""
    meta = request.META
    if from_trusted_proxy(meta) and f"{HEADER_PREFIX}KIND" in meta:
        actor = _actor_from_proxy_headers(meta)
        return actor, None if actor.is_anonymous else PROXY
    _drop_actor_headers(meta)
    token_value = _presented_token(meta.get("HTTP_AUTHORIZATION", ""))
    if token_value is not None:
        token = authenticate_token(token_value)
        if token is None:
            raise BadCredentials
        # A token is not sent by browsers on their own, so a request carrying one cannot be a
        # cross-site forgery; API clients must not need a CSRF cookie.
        request._dont_enforce_csrf_checks = True
        return agent_actor(token.user, token.scope_set, token_id=token.pk), TOKEN
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return user_actor(user), SESSION
    return ANONYMOUS, None


def from_trusted_proxy(meta) -> bool:
    """Whether the request came from an address in FORGE_TRUSTED_PROXIES (security_headers asks too)."""
    trusted = settings.FORGE_TRUSTED_PROXIES
    if not trusted:
        return False
    try:
        address = ipaddress.ip_address(meta.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or behind a trusted proxy the address it forwarded for
    (the right-most X-Forwarded-For entry that is not itself a trusted proxy)."""
    meta = request.META
    address = meta.get("REMOTE_ADDR", "")
    if not from_trusted_proxy(meta):
        return address
    for hop in reversed([part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a forged or garbled entry: trust nothing before it
        if not from_trusted_proxy({"REMOTE_ADDR": hop}):
            return hop
    return address


def _actor_from_proxy_headers(meta) -> Actor:
    kind = meta.get(f"{HEADER_PREFIX}KIND", "").strip().lower()
    if kind not in (USER, AGENT):
        return ANONYMOUS
    user = get_user(meta.get(f"{HEADER_PREFIX}NAME", "").strip())
    if user is None or not user.is_active:
        return ANONYMOUS
    if kind == USER:
        return user_actor(user)
    # Scopes the proxy names that Forge does not know are ignored rather than trusted.
    scopes = set(meta.get(f"{HEADER_PREFIX}SCOPES", "").replace(",", " ").split()) & set(ALL_SCOPES)
    return agent_actor(user, scopes)


def _drop_actor_headers(meta) -> None:
    for key in [key for key in meta if key.startswith(HEADER_PREFIX)]:
        del meta[key]


def _presented_token(authorization: str) -> str | None:
    """The token in an Authorization header; None if the header carries no credentials for Forge.

    Raises BadCredentials for Basic credentials whose password is not a token (account
    passwords are not accepted over HTTP) or that cannot be decoded.
    """
    scheme, _, credentials = authorization.strip().partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme in ("bearer", "token"):
        if not credentials:
            raise BadCredentials
        return credentials
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadCredentials from None
        _username, separator, password = decoded.partition(":")
        if not separator or not password:
            raise BadCredentials
        return password
    return None


def _write_actor_headers(meta, actor: Actor) -> None:
    for suffix, value in actor.header_values().items():
        meta[f"{HEADER_PREFIX}{suffix}"] = value
