"""What the account pages share: who may use them, and where to go next."""
import functools
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.middleware import PROXY, SESSION
from accounts.selectors import actor_user


def safe_next(request, default: str = "/") -> str:
    """The `next` parameter if it points into this site, else `default` (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def login_redirect(request) -> HttpResponseRedirect:
    return HttpResponseRedirect("/login?" + urlencode({"next": request.get_full_path()}))


def person_required(view):
    """For pages that manage an account: a person signed in (session or trusted proxy) gets
    `request.account` (their User); anonymous visitors are sent to sign in; a token is refused,
    because a token that could mint tokens or change passwords would outgrow its own scopes."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.actor.is_anonymous:
            return login_redirect(request)
        if request.actor_source not in (SESSION, PROXY) or not request.actor.is_user:
            return HttpResponse("Account pages need a signed-in person, not a token.\n", status=403,
                                content_type="text/plain; charset=utf-8")
        request.account = actor_user(request.actor)
        if request.account is None:
            return login_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper
