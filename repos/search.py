"""Keeping a repository's search index current, and reading it (the index itself is
repos.store.search, in the repository's own file).

After a push moves the default branch, the index is brought up to date in a background thread, so
the pusher does not wait; a search that finds the index behind the branch first catches it up
itself, under the same lock, so results are always those of the branch's tip. Commit messages are
indexed the same way. One indexing at a time per repository in this process; another process
doing the same work meanwhile only costs time (the store's transactions keep the index whole)."""
import logging
import threading

from django.dispatch import receiver

from repos.selectors import store_path
from repos.signals import refs_moved
from repos.store import RepoStore
from repos.store import search as index

log = logging.getLogger(__name__)

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(repo) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(repo.store_id, threading.Lock())


def bring_up_to_date(repo, store=None, *, force=False):
    """Index the default branch's tip and any commits not indexed yet; returns the IndexStats of the
    update, or None when the index was current (the common case, answered by reads alone). After a
    push, `force` syncs without asking: needs_sync's commit count cannot see a repack that dropped
    as many commits as the push added."""
    if store is None:
        with RepoStore.open(store_path(repo)) as opened:
            return bring_up_to_date(repo, opened, force=force)
    ref = f"refs/heads/{repo.default_branch}"
    if not force and not index.needs_sync(store, ref):
        return None
    with _lock_for(repo):
        return index.sync_index(store, ref)


def rebuild(repo):
    """A full rebuild (the settings page's button)."""
    with RepoStore.open(store_path(repo)) as store, _lock_for(repo):
        tip = store.ref(f"refs/heads/{repo.default_branch}")
        stats = index.rebuild_index(store, tip)
        index.index_commits(store)
        return stats


def index_in_background(repo) -> None:
    def run():
        try:
            bring_up_to_date(repo, force=True)
        except Exception:
            log.exception("search indexing of %s failed", repo.full_name)

    threading.Thread(target=run, name=f"search-index-{repo.store_id}", daemon=True).start()


@receiver(refs_moved)
def follow_push(sender, repository, updates, **kwargs):
    if any(name.startswith("refs/heads/") for name, _old, _new in updates):
        index_in_background(repository)
