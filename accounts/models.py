"""Accounts are Django's own User; this app adds agent tokens."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class AgentToken(models.Model):
    """A credential for a program acting for a user. Only the SHA-256 of the token is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_tokens")
    label = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so a user can tell their tokens apart.
    prefix = models.CharField(max_length=10)
    scopes = models.CharField(max_length=200, help_text="space-separated")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.label})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return self.user.is_active


class LoginThrottle(models.Model):
    """Failed sign-ins counted per key ("name:alice" or "addr:192.0.2.1"), kept in the main database so
    every gunicorn worker sees the same count (accounts.throttle)."""

    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    # Indexed: counts older than a day are swept away as new failures arrive.
    last_failure_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key}: {self.failures}"
