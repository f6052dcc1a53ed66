"""Changing the registry. Each function keeps the registry row and the repository's store file in step."""
import json
import logging
import os
import pathlib
import re
import shutil
import threading
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import get_user
from repos.models import Collaborator, Repository, RepositoryRedirect
from repos.refnames import branch_name_error
from repos.selectors import get_repository, store_path
from repos.signals import send_refs_moved
from repos.store import RepoStore
from repos.store.repack import RepackAbandoned
from repos.store.write import Signature

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
            # A new repository takes over a name its owner's renamed repository left behind.
            RepositoryRedirect.objects.named(owner.username, name).delete()
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


# --- settings: what the owner changes on /OWNER/NAME/settings -----------------------------------------------------

MAX_DESCRIPTION_LENGTH = Repository._meta.get_field("description").max_length


class InvalidSetting(ValueError):
    """A value update_repository cannot accept; `field` names the setting."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def update_repository(
    repo: Repository, *, description: str | None = None, private: bool | None = None,
    default_branch: str | None = None,
) -> Repository:
    """Change what is given (None leaves a setting as it is). The default branch must be an existing
    branch unless the repository has none yet; it is also the store's HEAD, so clones check it out.
    InvalidSetting, with nothing changed, if any value is not acceptable."""
    changes = {}
    if description is not None:
        description = description.strip()
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidSetting("description", f"the description is longer than {MAX_DESCRIPTION_LENGTH} characters")
        if any(ch in description for ch in "\r\n\0"):
            raise InvalidSetting("description", "the description is one line of text")
        changes["description"] = description
    if private is not None:
        changes["is_private"] = bool(private)
    path = store_path(repo)
    if default_branch is not None:
        try:
            validate_branch_name(default_branch)
        except ValueError as error:
            raise InvalidSetting("default_branch", str(error)) from None
        with RepoStore.open(path) as store:
            branches = {name for name, _, _ in store.refs() if name.startswith("refs/heads/")}
        if branches and f"refs/heads/{default_branch}" not in branches:
            raise InvalidSetting("default_branch", f"there is no branch named {default_branch!r}")
        changes["default_branch"] = default_branch
    if not changes:
        return repo
    changes["updated_at"] = timezone.now()
    with transaction.atomic():
        Repository.objects.filter(pk=repo.pk).update(**changes)
        if default_branch is not None:
            # In the same transaction: if the store cannot be written, the row is not changed either.
            with RepoStore.open(path) as store:
                store.set_head(f"refs/heads/{default_branch}")
    for field, value in changes.items():
        setattr(repo, field, value)
    return repo


def rename_repository(repo: Repository, new_name: str) -> Repository:
    """Rename OWNER/NAME to OWNER/NEW_NAME. The old name becomes a redirect to the repository (web
    pages answer 301, git is served in place) until a repository takes that name; renaming back to
    an old name takes its redirect away. Only the row changes: the store is named by store_id.
    A change of letter case alone is a rename too (and leaves no redirect: lookups ignore case)."""
    validate_repository_name(new_name)
    old_name = repo.name
    if new_name == old_name:
        return repo
    owner = repo.owner
    case_only = new_name.lower() == old_name.lower()
    taken = f"{owner.username}/{new_name} already exists"
    if not case_only and Repository.objects.named(owner.username, new_name).exists():
        raise ValueError(taken)
    try:
        with transaction.atomic():
            # Whichever repository the name led to before (this one, or one renamed away from it), it now names this one.
            RepositoryRedirect.objects.named(owner.username, new_name).delete()
            if not case_only:
                RepositoryRedirect.objects.named(owner.username, old_name).delete()
                RepositoryRedirect.objects.create(owner=owner, name=old_name, repository=repo)
            Repository.objects.filter(pk=repo.pk).update(name=new_name, updated_at=timezone.now())
    except IntegrityError:
        # Another repository was created or renamed to this name between the check and the update.
        raise ValueError(taken) from None
    repo.name = new_name
    return repo


def delete_repository(repo: Repository) -> pathlib.Path:
    """Delete the repository: its row goes (with collaborators and redirects), and its store file,
    checkpointed so that it holds every commit, is moved to FORGE_DATA_DIR/trash/ rather than
    unlinked, with a JSON note beside it saying what it was, so an operator can restore a mistaken
    delete. Returns the path in the trash.

    Open connections to the store elsewhere (other worker processes' pools) keep the moved file's
    inode and are harmless: every request checks access first, and the row is gone. Callers that
    hold a StorePool should forget the store path (repos.views.common.STORES.forget)."""
    path = store_path(repo)
    trash_dir = pathlib.Path(settings.FORGE_DATA_DIR) / "trash"
    trash_dir.mkdir(parents=True, exist_ok=True)
    deleted_at = timezone.now()
    trash = trash_dir / f"{repo.store_id}-{deleted_at.strftime('%Y%m%dT%H%M%SZ')}.sqlite3"
    note = {
        "full_name": repo.full_name, "store_id": repo.store_id, "description": repo.description,
        "is_private": repo.is_private, "default_branch": repo.default_branch,
        "created_at": repo.created_at.isoformat() if repo.created_at else None,
        "deleted_at": deleted_at.isoformat(),
        "collaborators": list(repo.collaborators.values_list("user__username", "permission")),
    }
    moved = False
    try:
        with transaction.atomic():
            # The row first, in the transaction the file move happens in: if the move fails the row comes back.
            Repository.objects.filter(pk=repo.pk).delete()
            if path.exists():
                _move_store(path, trash)
                moved = True
                trash.with_suffix(".json").write_text(json.dumps(note, indent=2) + "\n")
    except BaseException:
        if moved and trash.exists() and not path.exists():
            shutil.move(trash, path)
        raise
    return trash


def _move_store(path: pathlib.Path, dest: pathlib.Path) -> None:
    """Checkpoint the store's write-ahead log into the file, then move the file to `dest`. A log
    the checkpoint could not empty (a reader held it) goes with the file, where SQLite replays it."""
    with RepoStore.open(path) as store:
        busy, _, _ = store.con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    shutil.move(path, dest)
    wal = path.with_name(path.name + "-wal")
    if busy and wal.exists() and wal.stat().st_size:
        shutil.move(wal, dest.with_name(dest.name + "-wal"))
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def set_collaborator(repo: Repository, username: str, permission: str) -> Collaborator:
    """Give the user called `username` read or write access (adding them, or changing what they had)."""
    if permission not in (Collaborator.READ, Collaborator.WRITE):
        raise ValueError(f"unknown permission {permission!r}: read or write")
    user = get_user(username.strip()) if isinstance(username, str) and username.strip() else None
    if user is None or not user.is_active:
        raise ValueError(f"there is no user named {username!r}")
    if user.pk == repo.owner_id:
        raise ValueError(f"{user.username} owns {repo.full_name}, and may do anything to it already")
    collaborator, _ = Collaborator.objects.update_or_create(
        repository=repo, user=user, defaults={"permission": permission}
    )
    return collaborator


def remove_collaborator(repo: Repository, username: str) -> None:
    """Take away the access `username` was given. ValueError if they are not a collaborator."""
    deleted, _ = Collaborator.objects.filter(repository=repo, user__username__iexact=username).delete()
    if not deleted:
        raise ValueError(f"{username} is not a collaborator on {repo.full_name}")


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


def user_signature(user, seconds: int | None = None) -> Signature:
    """The author/committer line for commits Forge writes for `user` (merges, API commits): the
    full name or the user name, the e-mail or a no-reply address, now (UTC) unless told."""
    name = user.get_full_name() or user.username
    email = user.email or f"{user.username}@users.noreply.forge"
    return Signature(name, email, int(time.time()) if seconds is None else seconds, 0)


def write_tmp_dir() -> str:
    """Where Forge's own writes (merges, API commits) put a pack before it lands."""
    path = os.path.join(settings.FORGE_DATA_DIR, "tmp")
    os.makedirs(path, exist_ok=True)
    return path


def refs_written(repo: Repository, actor, updates, new_head: str | None = None) -> None:
    """After Forge itself moved refs (an API write; git pushes go through git_http): record the push
    and tell the receivers of refs_moved (pull requests, the search index), as a push does.
    `updates`: [(ref, old oid, new oid)]; `new_head`: the ref the store made HEAD, when this write
    gave an empty repository its first branch (PushOutcome.new_head)."""
    branch = new_head[len("refs/heads/"):] if new_head and new_head.startswith("refs/heads/") else None
    mark_pushed(repo, default_branch=branch)
    send_refs_moved(repo, updates, actor)


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
