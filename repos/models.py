"""The registry: which repositories exist, who owns them, who may see them. Their content lives
in one SQLite file per repository (repos.store), named by `store_id`."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


def new_store_id() -> str:
    return uuid.uuid4().hex


class RepositoryQuerySet(models.QuerySet):
    def named(self, owner: str, name: str):
        """OWNER/NAME, ignoring letter case in both (the lookup the unique constraint indexes)."""
        return self.alias(lower_owner=Lower("owner__username"), lower_name=Lower("name")).filter(
            lower_owner=owner.lower(), lower_name=name.lower()
        )


class Repository(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repositories")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    is_private = models.BooleanField(default=False)
    default_branch = models.CharField(max_length=255, default="main")
    # Names the store file, and never changes, so renaming or transferring a repository moves no bytes.
    store_id = models.CharField(max_length=32, unique=True, default=new_store_id, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint("owner", Lower("name"), name="repos_repository_unique_name_per_owner"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.owner.username}/{self.name}"

    def get_absolute_url(self) -> str:
        return f"/{self.full_name}"


class RedirectQuerySet(models.QuerySet):
    def named(self, owner: str, name: str):
        """Redirects from OWNER/NAME, ignoring letter case (at most one: the constraint below)."""
        return self.alias(lower_owner=Lower("owner__username"), lower_name=Lower("name")).filter(
            lower_owner=owner.lower(), lower_name=name.lower()
        )


class RepositoryRedirect(models.Model):
    """An old OWNER/NAME of a repository that was renamed: web pages under it answer 301 to the
    new name and git is served in place. Each points straight at the repository (never at another
    redirect), so renaming A to B to C leaves A and B both leading to it. A repository that comes to
    have this name, new or renamed, takes the name over and the redirect goes."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RedirectQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint("owner", Lower("name"), name="repos_redirect_unique_name_per_owner"),
        ]

    def __str__(self):
        return f"{self.owner.username}/{self.name} -> {self.repository}"


class Collaborator(models.Model):
    """A user other than the owner who may read, or read and write, a repository."""

    READ = "read"
    WRITE = "write"
    PERMISSIONS = [(READ, "Read"), (WRITE, "Write")]

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations")
    permission = models.CharField(max_length=5, choices=PERMISSIONS, default=READ)

    class Meta:
        constraints = [
            models.UniqueConstraint("repository", "user", name="repos_collaborator_unique_user"),
        ]

    def __str__(self):
        return f"{self.user} on {self.repository} ({self.permission})"
