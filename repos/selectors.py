"""Reading the registry."""
import pathlib

from django.conf import settings
from django.db.models.functions import Lower

from accounts.access import readable_filter
from accounts.actor import Actor
from repos.models import Collaborator, Repository, RepositoryRedirect


def store_path(repo: Repository) -> pathlib.Path:
    """The repository's SQLite store; the first two hex digits spread the files over 256 directories."""
    return pathlib.Path(settings.FORGE_REPO_DIR) / repo.store_id[:2] / f"{repo.store_id}.sqlite3"


def get_repository(owner: str, name: str) -> Repository | None:
    """OWNER/NAME ignoring letter case, whoever may see it; None if there is none. Use
    accounts.access.access_repo instead wherever a request asks for a repository."""
    return Repository.objects.named(owner, name).select_related("owner").first()


def public_repositories(limit: int = 50) -> list[Repository]:
    """Public repositories, the most recently changed first."""
    return list(Repository.objects.filter(is_private=False).select_related("owner").order_by("-updated_at")[:limit])


def repositories_for_owner(owner_user, actor: Actor) -> list[Repository]:
    """The repositories of `owner_user` that `actor` may read, by name."""
    return list(
        Repository.objects.filter(owner=owner_user)
        .filter(readable_filter(actor))
        .select_related("owner")
        .order_by(Lower("name"))
    )


def collaborators(repo: Repository) -> list[Collaborator]:
    """The repository's collaborators with their users, by user name."""
    return list(repo.collaborators.select_related("user").order_by(Lower("user__username")))


def old_names(repo: Repository) -> list[str]:
    """The names the repository had before, which still lead to it, oldest first."""
    redirects = RepositoryRedirect.objects.filter(repository=repo).order_by("created_at", "pk")
    return list(redirects.values_list("name", flat=True))
