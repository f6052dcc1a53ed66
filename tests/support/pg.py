"""PostgreSQL as the main database under test: FORGE_TEST_DATABASE_URL=postgres://user:pw@host/db.

When that variable is set, the in-process tests run on PostgreSQL (tests/conftest.py hands it to the settings
as FORGE_DATABASE_URL; pytest-django makes its own test_* database per xdist worker), and every live server
gets a database of its own, copied from a template migrated once per test process: a fresh `migrate` on
PostgreSQL takes seconds, `CREATE DATABASE … TEMPLATE` a fraction of one.
"""
import os
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
URL_VARIABLE = "FORGE_TEST_DATABASE_URL"


def url() -> str | None:
    value = os.environ.get(URL_VARIABLE, "").strip()
    return value or None


def enabled() -> bool:
    return url() is not None


def with_database(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _connect(database="postgres"):
    import psycopg

    return psycopg.connect(with_database(url(), database).replace("pgsql://", "postgresql://"), autocommit=True)


def _execute(sql: str) -> None:
    with _connect() as con:
        con.execute(sql)


_template = None


def _process_tag() -> str:
    """Names this test process's databases, so that its clean-up never touches another run's."""
    return f'{os.environ.get("PYTEST_XDIST_WORKER", "main")}_{os.getpid()}'


def _migrated_template(env: dict) -> str:
    """The database every live server of this process is copied from, migrated on first use."""
    global _template
    if _template is None:
        name = f"forge_tpl_{_process_tag()}"
        _execute(f'DROP DATABASE IF EXISTS "{name}"')
        _execute(f'CREATE DATABASE "{name}"')
        migrate_env = dict(env, FORGE_DATABASE_URL=with_database(url(), name))
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--noinput"],
                              cwd=ROOT, env=migrate_env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"migrating the template database {name} failed:\n{done.stdout}\n{done.stderr}")
        _template = name
    return _template


def new_server_database(env: dict) -> str:
    """A fresh, migrated database for one live server; returns its URL."""
    template = _migrated_template(env)
    name = f"forge_srv_{_process_tag()}_{secrets.token_hex(6)}"
    _execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return with_database(url(), name)


def drop_all() -> None:
    """Drops the template and every server database this process made (at the end of the session)."""
    global _template
    if _template is None:
        return  # no live server was started
    with _connect() as con:
        names = [row[0] for row in con.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
            (f"forge_srv_{_process_tag()}_%", f"forge_tpl_{_process_tag()}"))]
        for name in names:
            try:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 -- one that cannot go must not keep the others
                print(f"tests/support/pg.py: could not drop {name}: {error}")
    _template = None


def query(database_url: str, sql: str, params: tuple) -> list:
    """Rows from a server's main database; `sql` uses %s placeholders."""
    import psycopg

    with psycopg.connect(database_url.replace("pgsql://", "postgresql://"), autocommit=True) as con:
        return con.execute(sql, params).fetchall()
