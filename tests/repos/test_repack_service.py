"""Repacking through the registry: in the background after an unclean push, and by command."""
import io
import threading

import pytest
from django.core.management import call_command

from repos.selectors import store_path
from repos.services import create_repository, repack_in_background
from repos.store import RepoStore
from repos.store.packformat import ZERO_OID
from repos.store.push import RefUpdate
from tests.repos.store.helpers import pack_of, push, refs_of
from tests.support.sources import make_test_repo

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def small_history(tmp_path_factory):
    return make_test_repo(tmp_path_factory.mktemp("small") / "src.git", 30)


@pytest.fixture
def unclean_repo(make_user, small_history, tmp_path):
    repo = create_repository(make_user("alice"), "project")
    with RepoStore.open(store_path(repo)) as store:
        refs = refs_of(small_history)
        push(store, tmp_path, pack_of(small_history, "--all"), {name: (None, oid) for name, oid in refs.items()})
        feature = next(name for name in refs if name.startswith("refs/heads/feature/"))
        store.land_push(None, [RefUpdate(feature, refs[feature], ZERO_OID)])
        assert not store.is_clean()
    return repo


def test_an_unclean_store_is_repacked_in_the_background(unclean_repo):
    repack_in_background(unclean_repo, delay=0)
    for thread in threading.enumerate():
        if thread.name == f"repack-{unclean_repo.store_id}":
            thread.join(timeout=60)
    with RepoStore.open(store_path(unclean_repo)) as store:
        assert store.is_clean()


def test_repack_command(unclean_repo):
    out = io.StringIO()
    call_command("repack", "alice/project", stdout=out)
    assert out.getvalue().startswith("alice/project: kept ")
    with RepoStore.open(store_path(unclean_repo)) as store:
        assert store.is_clean()
