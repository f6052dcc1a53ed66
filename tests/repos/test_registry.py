"""The registry: creating repositories, their names, branches and store files."""
import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command

from repos.models import Repository
from repos.refnames import valid_branch_name, valid_ref_name
from repos.selectors import get_repository, public_repositories, store_path
from repos.services import create_repository, mark_pushed

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_create_repository_makes_the_row_and_the_store_file(alice, settings):
    repo = create_repository(alice, "Project", description="things", private=True, default_branch="trunk")

    assert (repo.full_name, repo.description, repo.is_private, repo.default_branch) == (
        "alice/Project",
        "things",
        True,
        "trunk",
    )
    path = store_path(repo)
    assert path == settings.FORGE_REPO_DIR / repo.store_id[:2] / f"{repo.store_id}.sqlite3"
    assert path.is_file()
    sqlite3.connect(path).execute("select 1").close()
    assert repo.pushed_at is None


def test_store_ids_are_unique_hex(alice):
    first = create_repository(alice, "one")
    second = create_repository(alice, "two")
    assert len(first.store_id) == 32 and int(first.store_id, 16) >= 0
    assert first.store_id != second.store_id


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".hidden",
        "-dash",
        "a..b",
        "a/b",
        "with space",
        "ünïcode",
        "x" * 101,
        "project.git",
        "Project.GIT",
        "info",
        "Settings",
        "git-upload-pack",
        "git-receive-pack",
        "issues",
        "tree",
        "archive",
    ],
)
def test_bad_or_reserved_names_are_refused(alice, name):
    with pytest.raises(ValueError):
        create_repository(alice, name)
    assert not Repository.objects.exists()


@pytest.mark.parametrize("name", ["a", "my-project", "my_project", "v1.2", "A.b-c_d", "x" * 100, "info2"])
def test_good_names_are_accepted(alice, name):
    assert create_repository(alice, name).name == name


def test_names_are_unique_per_owner_ignoring_case(alice, make_user):
    create_repository(alice, "project")
    with pytest.raises(ValueError, match="already exists"):
        create_repository(alice, "PROJECT")
    assert create_repository(make_user("bob"), "project").owner.username == "bob"
    assert Repository.objects.count() == 2


def test_the_database_refuses_a_case_insensitive_duplicate(alice):
    from django.db import IntegrityError, transaction

    Repository.objects.create(owner=alice, name="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        Repository.objects.create(owner=alice, name="DUP")


@pytest.mark.parametrize(
    "branch",
    [
        "",
        "a..b",
        "has space",
        "tilde~",
        "caret^",
        "colon:",
        "question?",
        "star*",
        "bracket[",
        "back\\slash",
        "control\x01",
        "del\x7f",
        ".hidden",
        "dir/.hidden",
        "name.lock",
        "dir/name.lock/x",
        "ends/",
        "ends.",
        "double//slash",
        "/leading",
        "at@{brace",
        "-option",
        "HEAD",
    ],
)
def test_bad_branch_names_are_refused(alice, branch):
    assert not valid_branch_name(branch)
    with pytest.raises(ValueError, match="invalid branch name"):
        create_repository(alice, "project", default_branch=branch)
    assert not Repository.objects.exists()


@pytest.mark.parametrize("branch", ["main", "feature/x", "release-1.0", "a@b", "@x", "ünï", "x.y/z", "lock.d"])
def test_good_branch_names(branch):
    assert valid_branch_name(branch)


def test_ref_names():
    assert valid_ref_name("refs/heads/main")
    assert valid_ref_name(b"refs/tags/v1.0")
    assert not valid_ref_name("main")  # a full ref name has at least one '/'
    assert not valid_ref_name("@")
    assert valid_ref_name("refs/heads/@")  # as git check-ref-format has it
    assert not valid_ref_name(b"refs/heads/a..b")


def test_failed_store_creation_leaves_no_row(alice, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.FORGE_REPO_DIR = blocker
    with pytest.raises(OSError):
        create_repository(alice, "project")
    assert not Repository.objects.exists()


def test_lookup_ignores_case(alice):
    repo = create_repository(alice, "Project")
    assert get_repository("ALICE", "project") == repo
    assert get_repository("alice", "other") is None


def test_mark_pushed(alice):
    repo = create_repository(alice, "project")
    mark_pushed(repo, default_branch="develop")
    repo.refresh_from_db()
    assert repo.pushed_at is not None
    assert repo.default_branch == "develop"
    with pytest.raises(ValueError):
        mark_pushed(repo, default_branch="bad..name")


def test_public_repositories_leave_out_private_ones(alice):
    create_repository(alice, "open")
    create_repository(alice, "closed", private=True)
    assert [repo.name for repo in public_repositories(limit=10)] == ["open"]


def test_createrepo_command(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command("createrepo", "Alice/tools", "--private", "--description", "d", "--default-branch", "dev",
                 stdout=out, stderr=err)  # fmt: skip
    assert (out.getvalue(), err.getvalue()) == ("", "")
    repo = Repository.objects.get()
    assert (repo.full_name, repo.is_private, repo.description, repo.default_branch) == ("alice/tools", True, "d", "dev")
    assert store_path(repo).is_file()


@pytest.mark.parametrize(
    "args,message",
    [
        (["nobody/tools"], "no user"),
        (["alice"], "OWNER/NAME"),
        (["alice/a/b"], "OWNER/NAME"),
        (["alice/tools.git"], ".git"),
        (["alice/tools", "--default-branch", "a b"], "invalid branch name"),
    ],
)
def test_createrepo_errors(alice, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("createrepo", *args)
    assert not Repository.objects.exists()
