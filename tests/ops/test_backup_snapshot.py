"""repos/store/backup.py: online SQLite copies and installing files, without Django or a server."""
import hashlib
import shutil
import sqlite3
import threading
import time

import pytest

from repos.store import backup as files


def wal_database(path, rows=0, blob=4096):
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size=16384")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    con.execute("CREATE TABLE b (id INTEGER PRIMARY KEY)")
    con.execute("BEGIN")
    for n in range(rows):
        con.execute("INSERT INTO a VALUES (?, randomblob(?))", (n, blob))
        con.execute("INSERT INTO b VALUES (?)", (n,))
    con.execute("COMMIT")
    return con


class Writer(threading.Thread):
    """Commits transactions that each add one row to both tables, as fast as it can."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop, self.commits, self.error = path, threading.Event(), 0, None

    def run(self):
        con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            while not self.stop.is_set():
                con.execute("BEGIN IMMEDIATE")
                (next_id,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM a").fetchone()
                con.execute("INSERT INTO a VALUES (?, randomblob(20000))", (next_id,))
                con.execute("INSERT INTO b VALUES (?)", (next_id,))
                con.execute("COMMIT")
                self.commits += 1
        except Exception as error:  # noqa: BLE001 -- surfaced by the test
            self.error = error
        finally:
            con.close()


@pytest.mark.parametrize("check", ["quick", "full"])
def test_snapshot_is_one_consistent_transaction_while_a_writer_goes_on(tmp_path, check):
    source = tmp_path / "store.sqlite3"
    wal_database(source, rows=2000).close()  # about 8 MB
    writer = Writer(source)
    writer.start()
    while writer.commits < 5:
        assert writer.is_alive(), writer.error
        time.sleep(0.005)
    copy = files.snapshot(source, tmp_path / "out" / "copy.sqlite3", check=check)
    at_end = writer.commits
    while writer.commits < at_end + 5 and writer.is_alive():
        time.sleep(0.005)  # and it goes on after the copy
    writer.stop.set()
    writer.join(30)
    assert writer.error is None

    assert copy.path == tmp_path / "out" / "copy.sqlite3"
    assert copy.size == copy.path.stat().st_size
    assert copy.sha256 == hashlib.sha256(copy.path.read_bytes()).hexdigest()
    assert sorted(p.name for p in copy.path.parent.iterdir()) == ["copy.sqlite3"]  # no WAL, no temporary
    con = sqlite3.connect(copy.path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count_a, count_b = con.execute("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").fetchone()
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # restored as the original was
    finally:
        con.close()
    # Every transaction is in the copy entirely, or not at all; and the copy is of one moment.
    assert count_a == count_b
    assert 2000 + 5 <= count_a <= 2000 + at_end


def test_a_failed_snapshot_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(files.SnapshotError, match="cannot open"):
        files.snapshot(tmp_path / "missing.sqlite3", out / "copy.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()  # never created by trying
    not_a_database = tmp_path / "garbage.sqlite3"
    not_a_database.write_bytes(b"not a database at all" * 1000)
    with pytest.raises(files.SnapshotError):
        files.snapshot(not_a_database, out / "copy.sqlite3")
    assert list(out.iterdir()) == []


def test_snapshot_never_overwrites(tmp_path):
    wal_database(tmp_path / "a.sqlite3", rows=1).close()
    (tmp_path / "copy.sqlite3").write_text("kept")
    with pytest.raises(FileExistsError):
        files.snapshot(tmp_path / "a.sqlite3", tmp_path / "copy.sqlite3")
    assert (tmp_path / "copy.sqlite3").read_text() == "kept"


def test_installing_a_database_drops_the_old_ones_write_ahead_log(tmp_path):
    # An old database whose latest transactions are still only in its WAL (as after a crash).
    old = wal_database(tmp_path / "old.sqlite3", rows=10)
    old.execute("PRAGMA wal_autocheckpoint=0")
    old.execute("INSERT INTO b VALUES (1000)")
    target = tmp_path / "live" / "forge.sqlite3"
    target.parent.mkdir()
    shutil.copy(tmp_path / "old.sqlite3", target)
    shutil.copy(tmp_path / "old.sqlite3-wal", target.with_name("forge.sqlite3-wal"))
    old.close()
    assert target.with_name("forge.sqlite3-wal").stat().st_size > 0

    new = wal_database(tmp_path / "new.sqlite3", rows=3)
    new.close()
    snapshot = files.snapshot(tmp_path / "new.sqlite3", tmp_path / "backup" / "new.sqlite3")
    installed = files.install_sqlite_file(snapshot.path, target)
    assert installed.sha256 == snapshot.sha256
    con = sqlite3.connect(target)
    try:
        # The old WAL's frames were not replayed onto the new file.
        assert con.execute("SELECT count(*) FROM b").fetchone() == (3,)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()
    assert not [p for p in target.parent.iterdir() if p.name.endswith((".restore", ".tmp"))]


def test_copy_file_hashes_what_it_wrote(tmp_path):
    source = tmp_path / "upload.bin"
    source.write_bytes(bytes(range(256)) * 5000)
    copied = files.copy_file(source, tmp_path / "deep" / "er" / "upload.bin", mode=0o600)
    assert copied.path.read_bytes() == source.read_bytes()
    assert copied.sha256 == files.sha256_file(source) == hashlib.sha256(source.read_bytes()).hexdigest()
    assert copied.path.stat().st_mode & 0o777 == 0o600
