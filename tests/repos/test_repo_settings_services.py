"""Repository settings in the registry and the store: rename with redirects, delete to the trash,
description, visibility and default branch (the store's HEAD), collaborators, and what access_repo
makes of each."""
import json
import sqlite3

import pytest

from accounts.access import AccessDenied, AuthRequired, RepoNotFound, access_repo
from accounts.actor import ANONYMOUS, agent_actor, user_actor
from repos.models import Collaborator, Repository, RepositoryRedirect
from repos.selectors import collaborators, get_repository, old_names, store_path
from repos.services import (
    InvalidSetting, create_repository, delete_repository, remove_collaborator, rename_repository,
    set_collaborator, update_repository,
)
from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.support.gitcli import commit_file, git, out

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture(scope="module")
def two_branches(tmp_path_factory):
    """A bare repository with branches main and develop (develop one commit ahead)."""
    work = tmp_path_factory.mktemp("work")
    git("init", "-q", "-b", "main", work)
    commit_file(work, "README", "hello\n", "first")
    git("-C", work, "checkout", "-q", "-b", "develop")
    commit_file(work, "dev.txt", "work in progress\n", "develop")
    bare = tmp_path_factory.mktemp("bare") / "two.git"
    git("clone", "-q", "--bare", work, bare)
    return bare


@pytest.fixture
def pushed(alice, two_branches, tmp_path):
    """alice/project with main and develop in its store, HEAD at main."""
    repo = create_repository(alice, "project")
    with RepoStore.open(store_path(repo)) as store:
        mirror(store, tmp_path, two_branches)
    return repo


def redirects():
    return sorted((r.owner.username, r.name, r.repository.full_name)
                  for r in RepositoryRedirect.objects.select_related("owner", "repository__owner"))


def reached(name, actor=None, need="read", owner="alice"):
    return access_repo(actor or ANONYMOUS, owner, name, need)


# --- rename ---------------------------------------------------------------------------------------------------------

def test_rename_keeps_the_store_and_leaves_a_redirect(pushed):
    path = store_path(pushed)
    rename_repository(pushed, "renamed")

    fresh = Repository.objects.get(pk=pushed.pk)
    assert fresh.full_name == "alice/renamed" and store_path(fresh) == path and path.exists()
    assert redirects() == [("alice", "project", "alice/renamed")]
    assert reached("project").pk == pushed.pk
    assert reached("project.git").pk == pushed.pk
    assert reached("PROJECT").pk == pushed.pk
    assert get_repository("alice", "project") is None  # the registry lookup itself does not follow


def test_renaming_twice_leaves_no_chain(pushed):
    rename_repository(pushed, "second")
    rename_repository(pushed, "third")
    assert redirects() == [("alice", "project", "alice/third"), ("alice", "second", "alice/third")]
    assert old_names(pushed) == ["project", "second"]
    assert reached("project").name == reached("second").name == "third"


def test_renaming_back_takes_the_redirect_away(pushed):
    rename_repository(pushed, "second")
    rename_repository(pushed, "third")
    rename_repository(pushed, "project")
    assert redirects() == [("alice", "second", "alice/project"), ("alice", "third", "alice/project")]
    assert reached("project").name == "project"


def test_a_change_of_letter_case_is_a_rename_without_redirect(pushed):
    rename_repository(pushed, "Project")
    assert Repository.objects.get(pk=pushed.pk).name == "Project"
    assert redirects() == []
    assert reached("project").name == "Project"


def test_rename_to_a_taken_name_is_refused_in_any_case(pushed, alice):
    create_repository(alice, "Other")
    for name in ("other", "OTHER", "Other"):
        with pytest.raises(ValueError, match="already exists"):
            rename_repository(pushed, name)
    assert Repository.objects.get(pk=pushed.pk).name == "project" and redirects() == []


@pytest.mark.parametrize("name", ["", "a/b", "with space", "x.git", "settings", ".hidden", "a..b", "x" * 101])
def test_rename_follows_the_naming_rules(pushed, name):
    with pytest.raises(ValueError):
        rename_repository(pushed, name)
    assert Repository.objects.get(pk=pushed.pk).name == "project" and redirects() == []


def test_a_new_repository_takes_over_a_redirected_name(pushed, alice):
    rename_repository(pushed, "renamed")
    newcomer = create_repository(alice, "PROJECT")
    assert redirects() == []
    assert reached("project").pk == newcomer.pk
    assert reached("renamed").pk == pushed.pk


def test_renaming_another_repository_into_a_redirected_name_takes_it_over(pushed, alice):
    rename_repository(pushed, "renamed")
    other = create_repository(alice, "other")
    rename_repository(other, "project")
    assert redirects() == [("alice", "other", "alice/project")]
    assert reached("project").pk == other.pk


def test_redirects_belong_to_their_owner(pushed, bob):
    rename_repository(pushed, "renamed")
    with pytest.raises(AuthRequired):
        reached("project", owner="bob")
    with pytest.raises(RepoNotFound):
        reached("project", actor=user_actor(bob), owner="bob")
    create_repository(bob, "project")  # bob's name, not alice's redirect
    assert redirects() == [("alice", "project", "alice/renamed")]


def test_a_redirect_applies_the_same_access_rules(pushed, bob, make_user):
    carol = make_user("carol")
    update_repository(pushed, private=True)
    set_collaborator(pushed, "bob", "read")
    rename_repository(pushed, "hidden")
    with pytest.raises(AuthRequired):
        reached("project")
    with pytest.raises(RepoNotFound):
        reached("project", actor=user_actor(carol))
    assert reached("project", actor=user_actor(bob)).name == "hidden"
    with pytest.raises(AccessDenied):
        reached("project", actor=user_actor(bob), need="write")
    alice_agent = agent_actor(pushed.owner, ["repo:write"])
    assert reached("project", actor=alice_agent, need="write").pk == pushed.pk
    with pytest.raises(AccessDenied):
        reached("project", actor=alice_agent, need="admin")


# --- delete ---------------------------------------------------------------------------------------------------------

def test_delete_moves_the_checkpointed_store_to_the_trash(pushed, alice, bob, settings, two_branches):
    set_collaborator(pushed, "bob", "write")
    rename_repository(pushed, "doomed")
    path = store_path(pushed)
    held = RepoStore.open(path)  # another connection (a pooled store) keeps SQLite from dropping the log on close
    held.refs()
    try:
        trash = delete_repository(pushed)
    finally:
        held.close()

    assert not Repository.objects.filter(pk=pushed.pk).exists()
    assert Collaborator.objects.count() == 0 and redirects() == []
    assert not path.exists() and not path.with_name(path.name + "-wal").exists()
    assert trash.parent == settings.FORGE_DATA_DIR / "trash"
    assert trash.name.startswith(pushed.store_id + "-") and trash.name.endswith("Z.sqlite3")
    # The file alone (no log beside it) holds everything that was pushed.
    assert not trash.with_name(trash.name + "-wal").exists()
    con = sqlite3.connect(f"file:{trash}?immutable=1", uri=True)
    stored = {name: oid.hex() for name, oid in con.execute("SELECT name, oid FROM refs")}
    con.close()
    expected = out("-C", two_branches, "for-each-ref", "--format=%(refname) %(objectname)")
    assert stored == dict(line.split() for line in expected.splitlines())
    note = json.loads(trash.with_suffix(".json").read_text())
    assert note["full_name"] == "alice/doomed" and note["store_id"] == pushed.store_id
    assert note["collaborators"] == [["bob", "write"]]
    with pytest.raises(AuthRequired):
        reached("doomed")
    with pytest.raises(AuthRequired):
        reached("project")
    # The name is free again, for a new, empty repository with a store of its own.
    again = create_repository(alice, "doomed")
    with RepoStore.open(store_path(again)) as store:
        assert store.refs() == []


def test_a_failed_move_leaves_the_repository_as_it_was(pushed, monkeypatch):
    from repos import services

    def broken(*args):
        raise OSError("disk full")
    monkeypatch.setattr(services.shutil, "move", broken)
    with pytest.raises(OSError):
        delete_repository(pushed)
    assert Repository.objects.filter(pk=pushed.pk).exists() and store_path(pushed).exists()


# --- general settings -------------------------------------------------------------------------------------------------

def test_update_description_and_visibility(pushed):
    update_repository(pushed, description="  A project  ", private=True)
    fresh = Repository.objects.get(pk=pushed.pk)
    assert (fresh.description, fresh.is_private) == ("A project", True)
    with pytest.raises(AuthRequired):
        reached("project")
    update_repository(pushed, private=False)
    assert reached("project").description == "A project"


@pytest.mark.parametrize("changes, field", [
    ({"description": "x" * 501}, "description"),
    ({"description": "two\nlines"}, "description"),
    ({"default_branch": "nope"}, "default_branch"),
    ({"default_branch": "bad..name"}, "default_branch"),
    ({"description": "fine", "private": True, "default_branch": "missing"}, "default_branch"),
])
def test_invalid_settings_change_nothing(pushed, changes, field):
    with pytest.raises(InvalidSetting) as raised:
        update_repository(pushed, **changes)
    assert raised.value.field == field
    fresh = Repository.objects.get(pk=pushed.pk)
    assert (fresh.description, fresh.is_private, fresh.default_branch) == ("", False, "main")
    with RepoStore.open(store_path(pushed)) as store:
        assert store.head_ref() == "refs/heads/main"


def test_the_default_branch_is_the_stores_head(pushed):
    update_repository(pushed, default_branch="develop")
    assert Repository.objects.get(pk=pushed.pk).default_branch == "develop"
    with RepoStore.open(store_path(pushed)) as store:
        assert store.head_ref() == "refs/heads/develop"


def test_an_empty_repository_takes_any_valid_default_branch(alice):
    repo = create_repository(alice, "empty")
    update_repository(repo, default_branch="trunk/v2")
    with RepoStore.open(store_path(repo)) as store:
        assert store.head_ref() == "refs/heads/trunk/v2"
    with pytest.raises(InvalidSetting):
        update_repository(repo, default_branch="-bad")


# --- collaborators --------------------------------------------------------------------------------------------------

def test_collaborators_are_added_changed_and_removed(pushed, bob, make_user):
    make_user("Carol")
    set_collaborator(pushed, "BOB", "read")
    set_collaborator(pushed, "carol", "write")
    assert [(c.user.username, c.permission) for c in collaborators(pushed)] == [("bob", "read"), ("Carol", "write")]
    set_collaborator(pushed, "bob", "write")
    assert Collaborator.objects.get(user=bob).permission == "write"
    remove_collaborator(pushed, "carol")
    assert [c.user.username for c in collaborators(pushed)] == ["bob"]
    with pytest.raises(ValueError, match="not a collaborator"):
        remove_collaborator(pushed, "carol")


def test_collaborator_refusals(pushed, make_user):
    make_user("dave")
    with pytest.raises(ValueError, match="no user named"):
        set_collaborator(pushed, "nobody", "read")
    with pytest.raises(ValueError, match="owns"):
        set_collaborator(pushed, "Alice", "write")
    with pytest.raises(ValueError, match="permission"):
        set_collaborator(pushed, "dave", "admin")
    assert Collaborator.objects.count() == 0


def test_what_collaborators_may_do(pushed, bob, make_user):
    carol = make_user("carol")
    update_repository(pushed, private=True)
    set_collaborator(pushed, "bob", "write")
    set_collaborator(pushed, "carol", "read")
    assert reached("project", user_actor(bob), "write").pk == pushed.pk
    assert reached("project", user_actor(carol), "read").pk == pushed.pk
    with pytest.raises(AccessDenied):
        reached("project", user_actor(carol), "write")
    for actor in (user_actor(bob), user_actor(carol)):
        with pytest.raises(AccessDenied):
            reached("project", actor, "admin")
