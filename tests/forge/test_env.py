"""Settings from the environment (forge.env)."""
import ipaddress
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured

from forge import env


def test_database_defaults_to_sqlite_in_the_data_dir(tmp_path):
    config = env.database(None, tmp_path / "forge.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == tmp_path / "forge.sqlite3"
    assert config["OPTIONS"]["timeout"] == 30


def test_sqlite_url(tmp_path):
    assert env.database(f"sqlite:///{tmp_path}/x.db", None)["NAME"] == tmp_path / "x.db"
    assert env.database("sqlite:///:memory:", None)["NAME"] == ":memory:"


def test_postgres_url():
    config = env.database("postgres://forge:p%40ss@db.example:5433/forge_main?sslmode=require", None)
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "forge_main",
        "USER": "forge",
        "PASSWORD": "p@ss",
        "HOST": "db.example",
        "PORT": "5433",
        "OPTIONS": {"sslmode": "require"},
    }
    assert env.database("postgresql://localhost/forge", None)["PORT"] == ""


@pytest.mark.parametrize("url", ["mysql://x/y", "postgres://host/", "sqlite://"])
def test_unusable_database_urls(url):
    with pytest.raises(ImproperlyConfigured):
        env.database(url, None)


def test_trusted_proxies():
    assert env.networks("10.0.0.1, 192.168.0.0/16,::1") == [
        ipaddress.ip_network("10.0.0.1/32"),
        ipaddress.ip_network("192.168.0.0/16"),
        ipaddress.ip_network("::1/128"),
    ]
    assert env.networks("") == []
    with pytest.raises(ImproperlyConfigured):
        env.networks("not-an-address")


def test_secret_key_is_generated_once_privately(tmp_path):
    first = env.secret_key(None, tmp_path)
    assert len(first) >= 50
    assert env.secret_key(None, tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert env.secret_key("given", tmp_path) == "given"
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]


def test_integer_and_flag():
    assert env.integer("X", None, 5) == 5
    assert env.integer("X", "7", 5) == 7
    with pytest.raises(ImproperlyConfigured):
        env.integer("X", "lots", 5)
    assert env.flag("1") and not env.flag("") and not env.flag("0")
