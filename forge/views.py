"""Site-wide pages: the front page and user profiles."""
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from accounts.selectors import actor_user
from repos.selectors import public_repositories, repositories_for_owner
from repos.views.common import wants_markdown


def _page(request, template, context):
    if wants_markdown(request):
        return HttpResponse(render_to_string(f"{template}.md", context, request),
                            content_type="text/markdown; charset=utf-8", headers={"Vary": "Accept, Cookie"})
    response = render(request, f"{template}.html", context)
    response["Vary"] = "Accept, Cookie"
    return response


@require_safe
def home(request):
    user = actor_user(request.actor)
    return _page(request, "home", {
        "public_repositories": public_repositories(limit=50),
        "own_repositories": repositories_for_owner(user, request.actor) if user else None,
    })


@require_safe
def profile(request, owner):
    user = get_user_model().objects.filter(username__iexact=owner, is_active=True).first()
    if user is None:
        raise Http404("No such user")
    return _page(request, "profile", {
        "profile": user,
        "repositories": repositories_for_owner(user, request.actor),
    })


@require_safe
def strip_git(request, owner, name):
    """A browser opening the clone URL lands on the repository's page."""
    return HttpResponsePermanentRedirect(f"/{owner}/{name}")
