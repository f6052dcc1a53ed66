"""Turning FORGE_* environment values into settings. Pure functions, so they can be tested alone."""
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

GIB = 1024**3

# SQLite is the default main database and is shared by several gunicorn workers and threads.
SQLITE_OPTIONS = {
    # Wait for a competing writer instead of failing at once with "database is locked".
    "timeout": 30,
    # WAL lets readers run while one request writes.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    # Take the write lock when a transaction starts: a deferred transaction that later needs to
    # write cannot wait for the lock (SQLite fails it at once), busy timeout or not.
    "transaction_mode": "IMMEDIATE",
}


def flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def integer(name: str, value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def choice(name: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    value = (value or "").strip().lower() or default
    if value not in allowed:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def comma_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def data_dir(value: str | None, default: Path) -> Path:
    """The state directory, absolute, created if missing. A relative value is taken from the working directory."""
    path = Path(value).expanduser() if value else default
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def networks(value: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """FORGE_TRUSTED_PROXIES: comma-separated addresses or CIDR blocks."""
    result = []
    for item in comma_list(value):
        try:
            result.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"FORGE_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return result


def secret_key(value: str | None, data_dir: Path) -> str:
    """FORGE_SECRET_KEY, or a key generated once into DATA_DIR/secret_key and reused from then on."""
    if value:
        return value
    path = data_dir / "secret_key"
    if not path.exists():
        _create_secret_key_file(path)
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty; delete it to have a new key generated")
    return key


def _create_secret_key_file(path: Path) -> None:
    # Several gunicorn workers may start at once: write the key privately, then link it into
    # place, which fails for all but the first, so every worker ends up with the same key.
    temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def database(url: str | None, default_sqlite_path: Path) -> dict:
    """FORGE_DATABASE_URL as a Django DATABASES entry; SQLite in the data directory when unset.

    sqlite:///relative/path and sqlite:////absolute/path (the SQLAlchemy convention), or
    postgres://user:password@host:port/name?sslmode=require (postgresql:// also accepted).
    """
    if not url:
        return _sqlite(default_sqlite_path)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # urlsplit keeps the slash that separates host from path; the path proper follows it.
        path = unquote(parts.path[1:])
        if not path:
            raise ImproperlyConfigured("FORGE_DATABASE_URL: a sqlite URL needs a path, e.g. sqlite:////srv/forge.db")
        return _sqlite(path if path == ":memory:" else Path(path).expanduser().resolve())
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("FORGE_DATABASE_URL: a postgres URL needs a database name")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured("FORGE_DATABASE_URL: the port is not a number") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            # A percent-encoded host is a Unix socket directory (postgres://%2Fvar%2Frun%2Fpostgresql/db).
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port) if port else "",
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    raise ImproperlyConfigured(f"FORGE_DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite or postgres)")


def _sqlite(path) -> dict:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": dict(SQLITE_OPTIONS)}
