"""Site-wide pages: the front page and user profiles."""
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponsePermanentRedirect
from django.views.decorators.http import require_safe

from accounts.selectors import actor_user
from repos.selectors import public_repositories, repositories_for_owner
from repos.views.common import negotiated


@require_safe
def home(request):
    user = actor_user(request.actor)
    return negotiated(request, "home", {
        "public_repositories": public_repositories(limit=50),
        "own_repositories": repositories_for_owner(user, request.actor) if user else None,
    })


@require_safe
def profile(request, owner):
    user = get_user_model().objects.filter(username__iexact=owner, is_active=True).first()
    if user is None:
        raise Http404("No such user")
    return negotiated(request, "profile", {
        "profile": user,
        "repositories": repositories_for_owner(user, request.actor),
    })


@require_safe
def strip_git(request, owner, name):
    """A browser opening the clone URL lands on the repository's page."""
    return HttpResponsePermanentRedirect(f"/{owner}/{name}")
