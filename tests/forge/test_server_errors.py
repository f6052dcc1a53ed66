"""handler500: storage trouble (a full disk, a lock held past the timeout) is a 503 with Retry-After;
anything else stays a 500. The errors here are real SQLite errors, raised by a real database."""
import json
import sqlite3

import pytest
from django.test import RequestFactory

from forge.server_errors import server_error, storage_trouble


def full_database_error(tmp_path):
    con = sqlite3.connect(tmp_path / "small.sqlite3")
    con.execute("CREATE TABLE t (b BLOB)")
    con.execute("PRAGMA max_page_count=4")
    try:
        con.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as error:
        return error
    finally:
        con.close()
    pytest.fail("SQLite stored 100 kB in four pages")


def locked_database_error(tmp_path):
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return error
    finally:
        other.close()
        holder.close()
    pytest.fail("two writers held the lock at once")


def answer(path, error):
    """server_error as Django calls it: inside the `except` block of the failed request."""
    request = RequestFactory().get(path)
    try:
        raise RuntimeError("the view failed") from error
    except RuntimeError:
        return server_error(request)


@pytest.mark.parametrize("make_error", [full_database_error, locked_database_error])
def test_storage_trouble_is_503_with_retry_after(make_error, tmp_path):
    error = make_error(tmp_path)
    assert storage_trouble(error)
    page = answer("/login", error)
    assert page.status_code == 503 and int(page["Retry-After"]) > 0
    assert b"Nothing was changed" in page.content
    api = answer("/api/v3/user", error)
    assert api.status_code == 503 and json.loads(api.content)["message"].startswith("The server cannot store")


def test_other_failures_stay_500(tmp_path):
    error = ZeroDivisionError("division by zero")
    assert not storage_trouble(error)
    page = answer("/", error)
    assert page.status_code == 500 and not page.has_header("Retry-After")
    assert json.loads(answer("/api/v3/user", error).content)["message"].startswith("Something went wrong")
