"""What other apps may follow without the git layer knowing them.

`refs_moved` is sent after refs of a repository moved and the move is committed: by a push, and by
Forge's own writes (a merge). Arguments: `repository`, `updates` — [(ref name, old oid, new oid)],
20-byte oids, ZERO_OID for a created or deleted ref — and `actor`. Receivers must be quick (they run
in the request that moved the refs) and must not fail it: it is sent with send_robust, and a
receiver's error is logged, never shown to the pusher, whose push has landed."""
import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)

refs_moved = Signal()


def send_refs_moved(repository, updates, actor=None) -> None:
    if not updates:
        return
    for receiver, result in refs_moved.send_robust(sender=type(repository), repository=repository,
                                                   updates=list(updates), actor=actor):
        if isinstance(result, Exception):
            log.error("refs_moved receiver %r failed for %s", receiver, repository.full_name, exc_info=result)
