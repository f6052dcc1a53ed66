"""Changing the registry. Each function keeps the registry row and the repository's store file in step."""
import logging
import pathlib
import re
import threading
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from repos.models import Repository
from repos.refnames import branch_name_error
from repos.selectors import get_repository, store_path
from repos.store import RepoStore
from repos.store.repack import RepackAbandoned

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")

# Words that follow OWNER/NAME/ in URLs (git and web), so a repository called so would shadow them.
RESERVED_NAMES = frozenset(
    {
        "info", "git-upload-pack", "git-receive-pack", "settings", "issues", "pulls", "tree", "blob",
        "raw", "blame", "commits", "commit", "compare", "branches", "tags", "search", "archive",
    }
)  # fmt: skip


def validate_repository_name(name: str) -> None:
    """ValueError saying why `name` cannot name a repository (format and reserved words; not uniqueness)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"invalid repository name {name!r}: 1 to 100 letters, digits, '.', '_' or '-'")
    if name[0] in ".-":
        raise ValueError(f"a repository name cannot begin with {name[0]!r}")
    if ".." in name:
        raise ValueError("a repository name cannot contain '..'")
    if name.lower().endswith(".git"):
        # URLs accept OWNER/NAME.git for OWNER/NAME, so such a name could not be reached.
        raise ValueError("a repository name cannot end with '.git'")
    if name.lower() in RESERVED_NAMES:
        raise ValueError(f"the repository name {name!r} is reserved")


def validate_branch_name(branch: str) -> None:
    error = branch_name_error(branch) if isinstance(branch, str) else "a branch name must be text"
    if error:
        raise ValueError(f"invalid branch name {branch!r}: {error}")


def create_repository(
    owner, name: str, *, description: str = "", private: bool = False, default_branch: str = "main"
) -> Repository:
    """A new, empty repository OWNER/NAME with its store file. ValueError if the name or branch is not acceptable."""
    validate_repository_name(name)
    validate_branch_name(default_branch)
    if get_repository(owner.username, name) is not None:
        raise ValueError(f"{owner.username}/{name} already exists")
    path = None
    try:
        with transaction.atomic():
            repo = Repository.objects.create(
                owner=owner,
                name=name,
                description=description,
                is_private=private,
                default_branch=default_branch,
            )
            path = store_path(repo)
            RepoStore.create(path, default_branch=default_branch)
    except IntegrityError:
        # Created by someone else between the check and the insert (in another letter case, perhaps).
        _discard_store(path)
        raise ValueError(f"{owner.username}/{name} already exists") from None
    except BaseException:
        # No row, so no file either: a store nobody can reach would only take space.
        _discard_store(path)
        raise
    return repo


def mark_pushed(repo: Repository, default_branch: str | None = None) -> None:
    """Record a push; the git layer passes `default_branch` when the first branch arrives in an empty repository."""
    now = timezone.now()
    changes = {"pushed_at": now, "updated_at": now}
    if default_branch is not None:
        validate_branch_name(default_branch)
        changes["default_branch"] = default_branch
    Repository.objects.filter(pk=repo.pk).update(**changes)
    for field, value in changes.items():
        setattr(repo, field, value)


def check_push(repo: Repository, actor, updates, push_options) -> None:
    """The branch-protection hook: runs before a push lands and refuses an update by setting its
    `error` (the reason git prints). No rule refuses anything yet; protected branches plug in here."""


_repacking: set[str] = set()   # store paths being repacked in this process
_scheduled: set[str] = set()    # store ids with a repack waiting to start
_repacking_lock = threading.Lock()


# A burst of force-pushes (a branch being rebased) should cost one repack, not one each.
REPACK_DELAY_SECONDS = 30


def repack_repository(repo: Repository, *, only_if_needed: bool = False) -> tuple[int, int] | None:
    """Repack the store now (copying every reachable object into one pack, dropping the rest);
    None when another repack of it is already running in this process, or (only_if_needed) when
    the store is clean already."""
    path = str(store_path(repo))
    with _repacking_lock:
        if path in _repacking:
            return None
        _repacking.add(path)
    try:
        tmp_dir = pathlib.Path(settings.FORGE_DATA_DIR) / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        with RepoStore.open(path) as store:
            if only_if_needed and store.is_clean():
                return None
            return store.repack(str(tmp_dir))
    finally:
        with _repacking_lock:
            _repacking.discard(path)


def repack_in_background(repo: Repository, delay: float = REPACK_DELAY_SECONDS) -> None:
    """After a push that left unreachable or duplicate objects: repack a little later, without
    making the pusher wait. A failed or abandoned repack changes nothing; the next push that
    leaves the store unclean tries again, and `manage.py repack` can always be run by hand."""
    with _repacking_lock:
        if repo.store_id in _scheduled:
            return
        _scheduled.add(repo.store_id)

    def run():
        time.sleep(delay)
        with _repacking_lock:
            _scheduled.discard(repo.store_id)
        try:
            repack_repository(repo, only_if_needed=True)
        except RepackAbandoned:
            pass
        except Exception:
            log.exception("repack of %s/%s failed", repo.owner.username, repo.name)

    threading.Thread(target=run, name=f"repack-{repo.store_id}", daemon=True).start()


def _discard_store(path) -> None:
    if path is None:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
