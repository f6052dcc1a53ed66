"""Slowing down password guessing.

Every failed sign-in is counted twice: against the account name and against the client address.
The first few failures cost nothing; after that each further attempt must wait twice as long as
the one before (up to a quarter of an hour), counted from the last failure. An attempt made too
soon is refused before the password is even checked, so a guesser gains nothing by hurrying.
The wait is imposed by refusing, not by sleeping: a sleeping request would hold a worker thread,
and a guesser with many connections would hold them all.

A stranger can make a real user wait too (by failing with their name); the cap keeps that short,
and the address key stops one client from trying many names.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import LoginThrottle

FREE_FAILURES = {"name": 5, "addr": 20}
MAX_DELAY = timedelta(minutes=15)
# A count this old starts over.
FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds

    def __str__(self):
        return f"Too many failed sign-ins. Try again in {self.retry_after} seconds."


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    keys = [("name", f"name:{username.strip().lower()}")]
    if address:
        keys.append(("addr", f"addr:{address}"))
    return keys


def _delay(kind: str, failures: int) -> timedelta:
    over = failures - FREE_FAILURES[kind]
    if over < 0:
        return timedelta(0)
    return min(timedelta(seconds=2**over), MAX_DELAY)


def check(username: str, address: str, now=None) -> Refusal | None:
    """A Refusal if an attempt for `username` from `address` must wait; None if it may go ahead."""
    now = now or timezone.now()
    wait = timedelta(0)
    rows = LoginThrottle.objects.filter(key__in=[key for _, key in _keys(username, address)])
    by_key = {row.key: row for row in rows}
    for kind, key in _keys(username, address):
        row = by_key.get(key)
        if row is None or now - row.last_failure_at > FORGET_AFTER:
            continue
        wait = max(wait, row.last_failure_at + _delay(kind, row.failures) - now)
    if wait > timedelta(0):
        return Refusal(retry_after=max(1, math.ceil(wait.total_seconds())))
    return None


def record_failure(username: str, address: str, now=None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        # Keep the table as small as the guessing of the last day, whatever the addresses used.
        LoginThrottle.objects.filter(last_failure_at__lt=now - FORGET_AFTER).delete()
        for _kind, key in _keys(username, address):
            row, created = LoginThrottle.objects.get_or_create(key=key, defaults={"failures": 1, "last_failure_at": now})
            if created:
                continue
            if now - row.last_failure_at > FORGET_AFTER:
                LoginThrottle.objects.filter(pk=row.pk).update(failures=1, last_failure_at=now)
            else:
                LoginThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1, last_failure_at=now)


def record_success(username: str) -> None:
    """The account's count starts over; the address's does not (one success must not license more guessing)."""
    LoginThrottle.objects.filter(key=f"name:{username.strip().lower()}").delete()
