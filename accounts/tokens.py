"""Agent tokens: issuing, revoking, and recognising them on a request.

A token is "forge_" followed by 32 random bytes (URL-safe base64). Only its SHA-256 is stored,
so a leaked database does not leak usable tokens.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import AgentToken
from accounts.scopes import format_scopes, parse_scopes

TOKEN_PREFIX = "forge_"
DISPLAY_PREFIX_LENGTH = 10
# Recording every use would turn every read request into a write; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def issue_token(user, label: str, scopes, expires_days: int | None = None) -> tuple[AgentToken, str]:
    """A new token for `user`; returns the stored row and the plaintext, which is never seen again."""
    label = (label or "").strip()
    if not label:
        raise ValueError("a token needs a label")
    if len(label) > AgentToken._meta.get_field("label").max_length:
        raise ValueError("the label is too long")
    scope_set = parse_scopes(scopes)
    if not scope_set:
        raise ValueError("a token needs at least one scope")
    if expires_days is not None and expires_days < 1:
        raise ValueError("--expires-days must be at least 1")
    if not user.is_active:
        raise ValueError(f"user {user.username!r} is inactive")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = AgentToken.objects.create(
        user=user,
        label=label,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        scopes=format_scopes(scope_set),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    return token, plaintext


def revoke_token(token: AgentToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        AgentToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)


def authenticate_token(plaintext: str) -> AgentToken | None:
    """The usable token with this value, or None (unknown, revoked, expired, or its user inactive)."""
    if not isinstance(plaintext, str) or not plaintext:
        return None
    digest = hash_token(plaintext)
    # The lookup is by hash, so its timing says nothing about the token; compare_digest guards
    # against a database whose comparison is not exact (collations).
    token = AgentToken.objects.select_related("user").filter(token_hash=digest).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    now = timezone.now()
    if not token.is_usable(now):
        return None
    _record_use(token, now)
    return token


def _record_use(token: AgentToken, now) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    AgentToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
