"""Backing up and restoring a whole Forge: the main database, every repository's store, the secret
key and uploads. `manage.py backup DIR` and `manage.py restore DIR` are thin wrappers.

Backups are taken ONLINE: Forge keeps serving and accepting pushes. Nothing is locked for longer
than it takes to copy one file, and then only against checkpoints (see repos/store/backup.py).

Order matters. The main database is copied FIRST, then every repository store its copy lists.
Forge always writes a repository's store before the main database records anything about it: a
store file exists before its repository's row commits (services.create_repository), and pushes,
merges and API commits land objects and refs in the store before pull requests, reviews or
`pushed_at` mention them. Stores only ever gain what was referenced (a repack drops only objects no
ref reaches, and pull requests follow their branches' refs). So every store copied after the main
database holds everything that copy refers to. The other way round, a repository created, or a pull
request merged, between the two copies would be referred to by the main database but missing
from the store copies. Each store copy is a single transaction-consistent snapshot of that store,
so a push is in it entirely (its objects and its ref updates) or not at all.

Layout of a backup directory (it must be empty or absent when the backup starts):
    manifest.json              written last: a directory without it is an incomplete backup
    main.sqlite3 | main.pgdump the main database (SQLite copy, or `pg_dump --format=custom`)
    repos/XX/<store_id>.sqlite3
    secret_key                 when FORGE_DATA_DIR has one
    uploads/...
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections

from repos.models import Repository
from repos.selectors import store_path
from repos.store import backup as files

MANIFEST = "manifest.json"
FORMAT = "forge-backup"
FORMAT_VERSION = 1
MAIN_FILES = {"sqlite": "main.sqlite3", "postgresql": "main.pgdump"}
# The paths a manifest may name, by kind of file; anything else (a "..", an absolute path, a kind this
# Forge does not know) is refused before a byte is written.
PATHS = {
    "main-db": re.compile(r"main\.(sqlite3|pgdump)"),
    "store": re.compile(r"repos/[0-9a-f]{2}/[0-9a-f]{32}\.sqlite3"),
    "secret_key": re.compile(r"secret_key"),
    # Relative, no empty, "." or ".." segment: it must stay inside uploads/ when joined.
    "upload": re.compile(r"uploads/(?!(.*/)?\.\.?(/|$))[^/\x00]+(/[^/\x00]+)*"),
}
RESTORE_ORDER = ("store", "upload", "secret_key", "main-db")  # the main database last: see restore()
# libpq connection keywords Django's OPTIONS may carry through to pg_dump / pg_restore.
LIBPQ_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name",
                 "options", "target_session_attrs", "passfile", "service")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


@dataclass
class BackupResult:
    directory: Path
    engine: str
    repositories: int
    files: int
    bytes: int
    seconds: float
    missing_stores: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    directory: Path
    engine: str
    repositories: int
    files: int
    bytes: int
    seconds: float


# --- backup -----------------------------------------------------------------------------------------------------

def backup(directory, *, check: str = "quick") -> BackupResult:
    """Write a complete backup into `directory` (created; refused if it holds anything). On failure
    the partial backup is removed and BackupError raised."""
    started = time.monotonic()
    created_at = _now()
    directory = Path(directory).expanduser().resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"{directory} is not an empty directory; back up into a new one")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return _backup_into(directory, check, created_at, started)
    except BaseException:
        for child in directory.iterdir():  # the directory was empty: all of it is ours
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise


def _backup_into(directory: Path, check: str, created_at: str, started: float) -> BackupResult:
    engine = main_engine()
    entries = []
    if engine == "sqlite":
        copy = _snapshot(_sqlite_main_path(), directory / MAIN_FILES["sqlite"], check)
        entries.append(_entry(directory, copy, "main-db"))
        repositories, migrations = _registry_from_sqlite_copy(copy.path)
    else:
        copy, repositories, migrations = _pg_dump(directory / MAIN_FILES["postgresql"])
        entries.append(_entry(directory, copy, "main-db"))

    missing = []
    for repo in repositories:
        source = _store_source(repo["store_id"])
        if source is None:
            missing.append(repo["full_name"])
            continue
        try:
            copy = _snapshot(source, directory / repo["file"], check)
        except BackupError:
            # Deleted (moved to the trash) between finding the file and opening it: copy it from there.
            if source.exists() or (source := _store_source(repo["store_id"])) is None:
                raise
            copy = _snapshot(source, directory / repo["file"], check)
        entries.append(_entry(directory, copy, "store", repo_id=repo["id"]))

    secret_key = Path(settings.FORGE_DATA_DIR) / "secret_key"
    if secret_key.is_file():
        copy = files.copy_file(secret_key, directory / "secret_key", mode=0o600)
        entries.append(_entry(directory, copy, "secret_key"))
    uploads = Path(settings.MEDIA_ROOT)
    for path in sorted(_regular_files(uploads)):
        copy = files.copy_file(path, directory / "uploads" / path.relative_to(uploads))
        entries.append(_entry(directory, copy, "upload"))

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": created_at,
        "finished_at": _now(),
        "forge": {"git_rev": _git_rev()},
        "main_db": {"engine": engine, "file": MAIN_FILES[engine], "migrations": migrations},
        "repositories": repositories,
        "missing_stores": missing,
        "files": entries,
    }
    _write_manifest(directory, manifest)
    return BackupResult(directory, engine, len(repositories) - len(missing), len(entries),
                        sum(e["size"] for e in entries), time.monotonic() - started, missing)


def _snapshot(src: Path, dst: Path, check: str) -> files.FileCopy:
    try:
        return files.snapshot(src, dst, check=check)
    except files.SnapshotError as error:
        raise BackupError(str(error)) from None


def _entry(directory: Path, copy: files.FileCopy, kind: str, **extra) -> dict:
    return {"path": copy.path.relative_to(directory).as_posix(), "kind": kind, "size": copy.size,
            "sha256": copy.sha256, **extra}


def _registry_from_sqlite_copy(path: Path) -> tuple[list[dict], dict]:
    """The repositories and applied migrations recorded in the COPY of the main database, so the
    stores copied next are exactly those it lists."""
    # Read-write, though only read: a read-only connection would leave -wal and -shm files behind.
    con = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        return _registry(con.execute)
    finally:
        con.close()


def _registry(execute) -> tuple[list[dict], dict]:
    repo_table, user_table = Repository._meta.db_table, get_user_model()._meta.db_table
    rows = execute(
        f"SELECT r.id, u.username, r.name, r.store_id FROM {repo_table} r "
        f"JOIN {user_table} u ON u.id = r.owner_id ORDER BY r.id"
    ).fetchall()
    repositories = [
        {"id": repo_id, "full_name": f"{owner}/{name}", "store_id": store_id,
         "file": f"repos/{store_id[:2]}/{store_id}.sqlite3"}
        for repo_id, owner, name, store_id in rows
    ]
    migrations = {}
    for app, name in execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall():
        migrations[app] = name
    return repositories, migrations


def _store_source(store_id: str) -> Path | None:
    """The live store file; or, for a repository deleted since the main database was copied, the
    file its deletion moved to FORGE_DATA_DIR/trash/ (the newest, if it was deleted more than once)."""
    path = store_path(Repository(store_id=store_id))
    if path.exists():
        return path
    trashed = sorted((Path(settings.FORGE_DATA_DIR) / "trash").glob(f"{store_id}-*.sqlite3"))
    return trashed[-1] if trashed else None


def _regular_files(root: Path):
    if not root.is_dir():
        return
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _write_manifest(directory: Path, manifest: dict) -> None:
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    temporary = directory / f".{MANIFEST}.tmp"
    with open(temporary, "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / MANIFEST)
    files.fsync_dir(directory)


def _manifest_digest(manifest: dict) -> str:
    body = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _git_rev() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, check=False, capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def human_size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- verify -----------------------------------------------------------------------------------------------------

def verify_backup(directory) -> dict:
    """Read the backup's manifest and check every file it lists (present, same size, same sha256).
    Returns the manifest; BackupError naming what is wrong otherwise. Reads only."""
    directory = Path(directory).expanduser().resolve()
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{directory} holds no {MANIFEST}: not a backup, or an incomplete one")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BackupError(f"{manifest_path} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_path} is not a Forge backup manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"backup format {manifest.get('format_version')!r} is not one this Forge reads "
                          f"({FORMAT_VERSION})")
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise BackupError(f"{manifest_path} is damaged (its checksum does not match)")
    try:
        problems = _check_files(directory, manifest)
    except (KeyError, TypeError, AttributeError) as error:
        raise BackupError(f"{manifest_path} is malformed ({type(error).__name__}: {error})") from None
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise BackupError(f"the backup in {directory} is damaged: {shown}")
    return manifest


def _check_files(directory: Path, manifest: dict) -> list[str]:
    problems = []
    engine = manifest["main_db"]["engine"]
    if engine not in MAIN_FILES:
        problems.append(f"unknown main-database engine {engine!r}")
    main_files = [entry["path"] for entry in manifest["files"] if entry["kind"] == "main-db"]
    if main_files != [MAIN_FILES.get(engine)]:
        problems.append(f"the manifest should list one main database, {MAIN_FILES.get(engine)}, not {main_files}")
    for entry in manifest["files"]:
        relative, pattern = entry["path"], PATHS.get(entry["kind"])
        if pattern is None or not isinstance(relative, str) or not pattern.fullmatch(relative):
            problems.append(f"{relative!r}: not a path a backup may hold as {entry['kind']!r}")
            continue
        path = directory / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(f"{relative}: {path.stat().st_size} bytes, the manifest says {entry['size']}")
        elif files.sha256_file(path) != entry["sha256"]:
            problems.append(f"{relative}: damaged (sha256 differs from the manifest)")
    return problems


# --- restore ----------------------------------------------------------------------------------------------------

def restore(directory, *, force: bool = False) -> RestoreResult:
    """Restore the backup in `directory` into this Forge's FORGE_DATA_DIR and main database.

    Checks everything first and changes nothing when the backup is damaged, made with the other
    main-database engine, or (without `force`) when this Forge already holds data. Forge must not
    be running. Stores, uploads and the secret key are put in place first and the main database
    last, so the repositories become visible only once their stores are there. Every file is
    written under a temporary name and renamed into place."""
    started = time.monotonic()
    directory = Path(directory).expanduser().resolve()
    manifest = verify_backup(directory)
    engine = main_engine()
    if manifest["main_db"]["engine"] != engine:
        raise BackupError(f"the backup's main database is {manifest['main_db']['engine']}, this Forge's is "
                          f"{engine}; restore it into a Forge configured the same way")
    if not force:
        present = existing_data()
        if present:
            raise BackupError(f"this Forge already holds data ({'; '.join(present)}); restoring would replace "
                              f"it: pass --force to do so")

    data_dir, total = Path(settings.FORGE_DATA_DIR), 0
    ordered = sorted(manifest["files"], key=lambda entry: RESTORE_ORDER.index(entry["kind"]))
    for entry in ordered:
        source, relative = directory / entry["path"], entry["path"]
        if entry["kind"] == "store":
            files.install_sqlite_file(source, Path(settings.FORGE_REPO_DIR) / relative[len("repos/"):])
        elif entry["kind"] == "upload":
            files.copy_file(source, Path(settings.MEDIA_ROOT) / relative[len("uploads/"):])
        elif entry["kind"] == "secret_key":
            files.copy_file(source, data_dir / "secret_key", mode=0o600)
        elif engine == "sqlite":
            connections.close_all()
            files.install_sqlite_file(source, _sqlite_main_path())
        else:
            connections.close_all()
            _pg_restore(source)
        total += entry["size"]
    repositories = sum(1 for entry in manifest["files"] if entry["kind"] == "store")
    return RestoreResult(directory, engine, repositories, len(manifest["files"]), total,
                         time.monotonic() - started)


def existing_data() -> list[str]:
    """What this Forge already holds that a restore would replace or orphan ([] for a new one).
    A secret_key alone does not count: Django settings generate one on first use."""
    found = []
    repo_files = sum(1 for _ in Path(settings.FORGE_REPO_DIR).glob("*/*.sqlite3"))
    if repo_files:
        found.append(f"{repo_files} repository store(s) in {settings.FORGE_REPO_DIR}")
    uploads = sum(1 for _ in _regular_files(Path(settings.MEDIA_ROOT)))
    if uploads:
        found.append(f"{uploads} upload(s) in {settings.MEDIA_ROOT}")
    if main_engine() == "sqlite" and not _sqlite_main_path().exists():
        return found  # asking Django would create an empty database file
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for model in (get_user_model(), Repository):
            table = model._meta.db_table
            if table in tables:
                cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
                count = cursor.fetchone()[0]
                if count:
                    found.append(f"{count} row(s) in {table}")
    connections.close_all()
    return found


# --- the main database ------------------------------------------------------------------------------------------

def main_engine() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("sqlite3"):
        return "sqlite"
    if engine.endswith("postgresql"):
        return "postgresql"
    raise BackupError(f"cannot back up a main database of engine {engine}")


def _sqlite_main_path() -> Path:
    name = str(settings.DATABASES["default"]["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise BackupError(f"the main database {name!r} is not a file that can be backed up")
    return Path(name)


def _libpq(program: str) -> tuple[str, str, dict]:
    """The program's path, a libpq connection string for the main database, and an environment
    carrying the password (kept off the command line, where `ps` would show it)."""
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"{program} is not installed (Debian: apt-get install postgresql-client)")
    database = settings.DATABASES["default"]
    options = database.get("OPTIONS", {})
    words = {"dbname": database["NAME"], "user": database.get("USER"), "host": database.get("HOST"),
             "port": database.get("PORT"), **{key: options[key] for key in LIBPQ_OPTIONS if key in options}}
    conninfo = " ".join(f"{key}={_conninfo_quote(str(value))}" for key, value in words.items() if value)
    env = dict(os.environ)
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return executable, conninfo, env


def _conninfo_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pg_dump(dst: Path) -> tuple[files.FileCopy, list[dict], dict]:
    """pg_dump of the main database, and the repositories it holds read from the SAME snapshot: a
    repeatable-read transaction exports its snapshot, pg_dump runs in it (--snapshot), and the
    repository list is read in it too. Neither blocks writers."""
    executable, conninfo, env = _libpq("pg_dump")
    started = time.monotonic()
    temporary = dst.with_name(f".{dst.name}.tmp")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]
            done = subprocess.run(
                [executable, "--format=custom", f"--snapshot={snapshot_id}", "--file", str(temporary),
                 "--dbname", conninfo], check=False, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                temporary.unlink(missing_ok=True)
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")

            def execute(sql):
                cursor.execute(sql)
                return cursor

            repositories, migrations = _registry(execute)
        finally:
            cursor.execute("ROLLBACK")
    files.fsync_file(temporary)
    size, digest = temporary.stat().st_size, files.sha256_file(temporary)
    os.replace(temporary, dst)
    files.fsync_dir(dst.parent)
    return files.FileCopy(dst, size, digest, time.monotonic() - started), repositories, migrations


def _pg_restore(dump: Path) -> None:
    """Replace the main database's tables with the dump's, in one transaction (all or nothing).
    Ownership and grants are not restored: the tables belong to the role Forge connects as."""
    executable, conninfo, env = _libpq("pg_restore")
    done = subprocess.run(
        [executable, "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction",
         "--exit-on-error", "--dbname", conninfo, str(dump)], check=False, env=env, capture_output=True,
        text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (the main database was left as it was): {done.stderr.strip()}")
