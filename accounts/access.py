"""The one access check. Every web page, API route and git endpoint that touches a repository
goes through access_repo(), so a private repository cannot leak through a forgotten path.

Who may do what (an agent acts as its owning user, and is further limited by its scopes):
- read:  public repositories: anyone. Private: the owner, collaborators, site admins
         (is_superuser); an agent also needs repo:read (which repo:write implies).
- write: the owner, or a collaborator with write permission; an agent also needs repo:write.
- admin: the owner, or a site admin; an agent also needs the admin scope.
An actor that may not read a repository is told it does not exist.

The old name of a renamed repository (repos.models.RepositoryRedirect) still leads to it, with
the same rules, unless a repository has since taken that name.
"""
from django.contrib.auth import get_user_model
from django.db.models import Q

from accounts.actor import Actor
from accounts.scopes import ADMIN, REPO_READ, REPO_WRITE
from repos.models import Collaborator, Repository, RepositoryRedirect

READ, WRITE, ADMIN_ACCESS = "read", "write", "admin"
NEEDS = (READ, WRITE, ADMIN_ACCESS)
_SCOPE_FOR_NEED = {READ: REPO_READ, WRITE: REPO_WRITE, ADMIN_ACCESS: ADMIN}


class AccessError(Exception):
    """Base of the refusals below; `status` is the HTTP status to answer with."""

    status = 403


class RepoNotFound(AccessError):
    status = 404


class AuthRequired(AccessError):
    """The actor is anonymous: ask for credentials (and say nothing about whether the repository exists)."""

    status = 401


class AccessDenied(AccessError):
    """The actor may read the repository but not do this to it."""

    status = 403


def strip_git_suffix(name: str) -> str:
    return name[: -len(".git")] if name.lower().endswith(".git") else name


def access_repo(actor: Actor, owner: str, name: str, need: str) -> Repository:
    """The repository OWNER/NAME if `actor` may `need` ("read", "write" or "admin") it; raises otherwise."""
    if need not in NEEDS:
        raise ValueError(f"unknown access need {need!r}")
    name = strip_git_suffix(name)
    repo = Repository.objects.named(owner, name).select_related("owner").first() or _renamed(owner, name)
    if repo is None:
        raise _hidden(actor)
    allowed = allowed_needs(actor, repo)
    if READ not in allowed:
        raise _hidden(actor)
    if need not in allowed:
        if actor.is_anonymous:
            raise AuthRequired(f"{need} access needs credentials")
        raise AccessDenied(f"you may not {need} this repository")
    return repo


def _renamed(owner: str, name: str) -> Repository | None:
    """The repository once called OWNER/NAME (asked only when no repository is called so now).
    Callers compare the name asked for with repo.full_name to tell a redirect was followed."""
    redirect = RepositoryRedirect.objects.named(owner, name).select_related("repository__owner").first()
    return redirect.repository if redirect else None


def allowed_needs(actor: Actor, repo: Repository) -> frozenset[str]:
    """Which of read/write/admin `actor` may do to `repo`."""
    granted = set(_user_grants(actor, repo))
    if actor.is_agent:
        granted = {need for need in granted if actor.has_scope(_SCOPE_FOR_NEED[need])}
    if not repo.is_private:
        granted.add(READ)
    return frozenset(granted)


def readable_filter(actor: Actor) -> Q:
    """A Repository filter for what `actor` may read: the same rule as allowed_needs, for lists."""
    public = Q(is_private=False)
    if actor.is_anonymous or not actor.has_scope(REPO_READ):
        return public
    if _is_site_admin(actor):
        return Q()
    shared = Collaborator.objects.filter(user_id=actor.user_id).values("repository_id")
    return public | Q(owner_id=actor.user_id) | Q(pk__in=shared)


def can_create_in(actor: Actor, owner_name: str) -> bool:
    """Whether `actor` may create a repository under `owner_name` (e.g. by pushing to it)."""
    if actor.is_anonymous or not actor.name:
        return False
    return actor.name.lower() == owner_name.lower() and actor.has_scope(REPO_WRITE)


def _user_grants(actor: Actor, repo: Repository) -> frozenset[str]:
    """What the actor's user may do, before an agent's scopes narrow it."""
    if actor.is_anonymous or actor.user_id is None:
        return frozenset()
    if repo.owner_id == actor.user_id:
        return frozenset(NEEDS)
    granted = set()
    permission = (
        Collaborator.objects.filter(repository=repo, user_id=actor.user_id).values_list("permission", flat=True).first()
    )
    if permission == Collaborator.WRITE:
        granted |= {READ, WRITE}
    elif permission == Collaborator.READ:
        granted.add(READ)
    if _is_site_admin(actor):
        granted |= {READ, ADMIN_ACCESS}
    return frozenset(granted)


def _is_site_admin(actor: Actor) -> bool:
    if actor.user_id is None:
        return False
    return get_user_model().objects.filter(pk=actor.user_id, is_superuser=True, is_active=True).exists()


def _hidden(actor: Actor) -> AccessError:
    if actor.is_anonymous:
        return AuthRequired("authentication required")
    return RepoNotFound("repository not found")
