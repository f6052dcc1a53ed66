"""Site-wide pages."""
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.selectors import actor_user
from repos.selectors import public_repositories, repositories_for_owner


@require_safe
def home(request):
    user = actor_user(request.actor)
    return render(
        request,
        "home.html",
        {
            "public_repositories": public_repositories(limit=50),
            "own_repositories": repositories_for_owner(user, request.actor) if user else None,
        },
    )
