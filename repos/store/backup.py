"""Online copies of SQLite files (a repository's store, or the main database), and the file
handling a backup and a restore need: checksums, fsync, install-by-rename. No Django here.

A copy is taken with SQLite's backup API in ONE step (`Connection.backup(pages=-1)`), not in paged
steps. Both files are in WAL mode, and one step runs inside a single read transaction on the source:
it copies the database exactly as it was when the step began, while writers go on appending to the
WAL (WAL readers and writers never block each other; the copy only keeps checkpoints from recycling
the WAL past its snapshot until it ends). A paged backup (pages=N) lets go of the source between
steps, and SQLite restarts it from the first page whenever another connection writes the source in
between: under a steady stream of pushes a large store might never finish copying.
"""
import hashlib
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
HASH_BLOCK = 1 << 20


class SnapshotError(Exception):
    """The copy could not be made, or the copy failed its check; nothing is left at the destination."""


@dataclass(frozen=True)
class FileCopy:
    path: Path
    size: int
    sha256: str
    seconds: float


def snapshot(src_path, dst_path, *, check: str = "quick", busy_timeout: float = 120) -> FileCopy:
    """Copy the SQLite database at `src_path` to `dst_path` (which must not exist) as one
    transaction-consistent snapshot, while other connections keep reading and writing it.

    The copy is written under a temporary name beside `dst_path`, checked (`check`: "quick" for
    PRAGMA quick_check, "full" for PRAGMA integrity_check), fsynced, and only then renamed into place,
    so `dst_path` is either a complete, verified copy or absent."""
    if check not in ("quick", "full"):
        raise ValueError(f"check must be 'quick' or 'full', not {check!r}")
    src_path, dst_path = Path(src_path), Path(dst_path)
    if dst_path.exists():
        raise FileExistsError(dst_path)
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    temporary = dst_path.with_name(f".{dst_path.name}.{secrets.token_hex(4)}.tmp")
    try:
        _copy(src_path, temporary, busy_timeout)
        _verify(temporary, check)
        fsync_file(temporary)
        size, digest = temporary.stat().st_size, sha256_file(temporary)
        os.replace(temporary, dst_path)
        fsync_dir(dst_path.parent)
    except BaseException:
        discard_sqlite_file(temporary)
        raise
    return FileCopy(dst_path, size, digest, time.monotonic() - started)


def _copy(src_path: Path, dst_path: Path, busy_timeout: float) -> None:
    # mode=rw: a missing source is an error, never a new empty database.
    try:
        source = sqlite3.connect(f"file:{src_path}?mode=rw", uri=True, timeout=busy_timeout, isolation_level=None)
    except sqlite3.OperationalError as error:
        raise SnapshotError(f"cannot open {src_path}: {error}") from None
    try:
        target = sqlite3.connect(dst_path, isolation_level=None)
        try:
            source.backup(target, pages=-1)  # one step: see the module docstring
        except sqlite3.Error as error:
            raise SnapshotError(f"copying {src_path} failed: {error}") from None
        finally:
            target.close()
    finally:
        source.close()


def _verify(path: Path, check: str) -> None:
    try:
        rows = check_sqlite_file(path, check)
    except sqlite3.Error as error:
        raise SnapshotError(f"the copy of {path.name} cannot be read: {error}") from None
    if rows != ["ok"]:
        raise SnapshotError(f"the copy failed its {check} check: {'; '.join(map(str, rows[:5]))}")


def check_sqlite_file(path, check: str = "full") -> list[str]:
    """PRAGMA integrity_check (or quick_check) of a database file: ["ok"] when sound."""
    pragma = "quick_check" if check == "quick" else "integrity_check"
    con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)
    try:
        return [row[0] for row in con.execute(f"PRAGMA {pragma}")]
    finally:
        con.close()  # the last connection: an (empty) WAL is checkpointed and removed


# --- plain files ------------------------------------------------------------------------------------------------

def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_dir(path) -> None:
    """Make a rename or a new file in `path` durable (the directory entry itself)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def copy_file(src_path, dst_path, *, mode: int | None = None) -> FileCopy:
    """Copy a plain file through a temporary name (fsynced, then renamed), hashing what was written."""
    src_path, dst_path = Path(src_path), Path(dst_path)
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    temporary = dst_path.with_name(f".{dst_path.name}.{secrets.token_hex(4)}.tmp")
    digest, size = hashlib.sha256(), 0
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        with open(src_path, "rb") as source, os.fdopen(os.open(temporary, flags, mode or 0o644), "wb") as target:
            while block := source.read(HASH_BLOCK):
                digest.update(block)
                size += len(block)
                target.write(block)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, dst_path)
        fsync_dir(dst_path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return FileCopy(dst_path, size, digest.hexdigest(), time.monotonic() - started)


def install_sqlite_file(src_path, dst_path) -> FileCopy:
    """Put a copy of the database file `src_path` at `dst_path`, replacing whatever database was there.

    The new file is written and fsynced under a temporary name first. The old database's WAL and
    shared-memory files are removed before the rename: SQLite would otherwise replay the old WAL's
    frames onto the new file the next time it is opened, and corrupt it. (Nothing may have the old
    database open meanwhile: restores run with Forge stopped.)"""
    dst_path = Path(dst_path)
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = dst_path.with_name(f".{dst_path.name}.{secrets.token_hex(4)}.restore")
    try:
        copied = copy_file(src_path, temporary, mode=0o600)
        for suffix in SQLITE_SIDE_FILES:
            dst_path.with_name(dst_path.name + suffix).unlink(missing_ok=True)
        os.replace(temporary, dst_path)
        fsync_dir(dst_path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return FileCopy(dst_path, copied.size, copied.sha256, copied.seconds)


def discard_sqlite_file(path) -> None:
    path = Path(path)
    for suffix in ("", *SQLITE_SIDE_FILES):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
