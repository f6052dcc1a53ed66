"""Test set-up shared by every test directory.

Settings create files in FORGE_DATA_DIR as they load (secret key, repository stores), so the
data directory is pointed at a temporary one before Django is configured; nothing is written
under ./data. pytest-django finishes its own set-up after this hook (it runs last).
"""
import os
import shutil
import tempfile

import pytest

_data_dir = None


def pytest_configure(config):
    global _data_dir
    _data_dir = tempfile.mkdtemp(prefix="forge-test-data-")
    os.environ["FORGE_DATA_DIR"] = _data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "forge.settings"
    # The main database under test: SQLite in the data directory, or the PostgreSQL server named by
    # FORGE_TEST_DATABASE_URL (pytest-django makes a test_* database on it; see tests/support/pg.py).
    from tests.support import pg

    if pg.enabled():
        os.environ["FORGE_DATABASE_URL"] = pg.url()
    else:
        os.environ.pop("FORGE_DATABASE_URL", None)

    import django
    from django.conf import settings

    # Serve static files from static/ as in development, so tests need no `collectstatic`.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    # Password hashing is deliberately slow; tests create many accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django.setup()


def pytest_unconfigure(config):
    from tests.support import pg

    if pg.enabled():
        pg.drop_all()
    if _data_dir:
        shutil.rmtree(_data_dir, ignore_errors=True)


@pytest.fixture
def data_dir(settings):
    """The data directory of this test run (settings.FORGE_DATA_DIR)."""
    return settings.FORGE_DATA_DIR


@pytest.fixture
def make_user(db):
    """Creates accounts through the real service: make_user("alice", admin=True)."""
    from accounts.services import create_user

    def make(name, **options):
        return create_user(name, **options)

    return make
