import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AgentToken
from accounts.scopes import expand_scopes, parse_scopes
from accounts.tokens import authenticate_token, issue_token, revoke_token

pytestmark = pytest.mark.django_db

TOKEN_SHAPE = re.compile(r"forge_[A-Za-z0-9_-]{43}")


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_issued_token_is_random_and_stored_only_as_its_hash(alice):
    token, plaintext = issue_token(alice, "ci", ["repo:read"])
    _, other = issue_token(alice, "ci", ["repo:read"])

    assert TOKEN_SHAPE.fullmatch(plaintext)
    assert plaintext != other
    stored = AgentToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert stored.prefix == plaintext[:10]
    row_values = [str(value) for value in AgentToken.objects.filter(pk=token.pk).values().get().values()]
    assert not any(plaintext in value for value in row_values)


def test_scopes_are_checked_and_stored_in_canonical_order(alice):
    token, _ = issue_token(alice, "bot", "admin,repo:read")
    assert token.scopes == "repo:read admin"
    with pytest.raises(ValueError, match="unknown scope"):
        issue_token(alice, "bot", ["repo:delete"])
    with pytest.raises(ValueError, match="at least one scope"):
        issue_token(alice, "bot", [])
    with pytest.raises(ValueError, match="label"):
        issue_token(alice, "  ", ["repo:read"])


def test_repo_write_and_admin_imply_repo_read():
    assert expand_scopes(parse_scopes("repo:write")) == {"repo:read", "repo:write"}
    assert expand_scopes(parse_scopes("admin")) == {"repo:read", "admin"}
    assert expand_scopes(parse_scopes("issues:write")) == {"issues:write"}


def test_authenticate_finds_the_token_and_its_user(alice):
    token, plaintext = issue_token(alice, "ci", ["repo:write"])
    found = authenticate_token(plaintext)
    assert found.pk == token.pk
    assert found.user == alice


def test_unknown_or_malformed_tokens_are_refused(alice):
    _, plaintext = issue_token(alice, "ci", ["repo:read"])
    assert authenticate_token(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert authenticate_token("") is None
    assert authenticate_token("password123") is None


def test_revoked_token_is_refused(alice):
    token, plaintext = issue_token(alice, "ci", ["repo:read"])
    revoke_token(token)
    assert AgentToken.objects.get(pk=token.pk).revoked_at is not None
    assert authenticate_token(plaintext) is None


def test_expired_token_is_refused(alice):
    token, plaintext = issue_token(alice, "ci", ["repo:read"], expires_days=1)
    assert token.expires_at - token.created_at == timedelta(days=1)
    assert authenticate_token(plaintext) is not None

    AgentToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_token(plaintext) is None


def test_token_of_an_inactive_user_is_refused(alice):
    _, plaintext = issue_token(alice, "ci", ["repo:read"])
    alice.is_active = False
    alice.save()
    assert authenticate_token(plaintext) is None


def test_last_used_is_recorded_at_most_once_a_minute(alice):
    token, plaintext = issue_token(alice, "ci", ["repo:read"])
    assert token.last_used_at is None

    authenticate_token(plaintext)
    first_use = AgentToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None

    authenticate_token(plaintext)
    assert AgentToken.objects.get(pk=token.pk).last_used_at == first_use

    AgentToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    authenticate_token(plaintext)
    assert AgentToken.objects.get(pk=token.pk).last_used_at > first_use - timedelta(minutes=2)
