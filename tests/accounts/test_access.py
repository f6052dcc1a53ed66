"""access_repo: who may read, write and administer which repository."""
import pytest

from accounts.access import AccessDenied, AuthRequired, RepoNotFound, access_repo, can_create_in
from accounts.actor import ANONYMOUS, agent_actor, user_actor
from repos.models import Collaborator
from repos.selectors import repositories_for_owner
from repos.services import create_repository

pytestmark = pytest.mark.django_db

OK = "ok"
NEEDS = ("read", "write", "admin")


@pytest.fixture
def world(make_user):
    owner = make_user("owner")
    reader = make_user("reader")
    writer = make_user("writer")
    public = create_repository(owner, "public-repo")
    private = create_repository(owner, "private-repo", private=True)
    for repo in (public, private):
        Collaborator.objects.create(repository=repo, user=reader, permission=Collaborator.READ)
        Collaborator.objects.create(repository=repo, user=writer, permission=Collaborator.WRITE)
    users = {
        "owner": owner,
        "reader": reader,
        "writer": writer,
        "stranger": make_user("stranger"),
        "siteadmin": make_user("siteadmin", admin=True),
    }
    return users, {"public": public, "private": private}


def outcome(actor, repo_name, need):
    try:
        access_repo(actor, "owner", repo_name, need)
    except AccessDenied:
        return 403
    except AuthRequired:
        return 401
    except RepoNotFound:
        return 404
    return OK


# (actor, repository) -> outcome for read, write, admin
USER_MATRIX = {
    ("anonymous", "public"): (OK, 401, 401),
    ("anonymous", "private"): (401, 401, 401),
    ("owner", "public"): (OK, OK, OK),
    ("owner", "private"): (OK, OK, OK),
    ("stranger", "public"): (OK, 403, 403),
    ("stranger", "private"): (404, 404, 404),
    ("reader", "public"): (OK, 403, 403),
    ("reader", "private"): (OK, 403, 403),
    ("writer", "public"): (OK, OK, 403),
    ("writer", "private"): (OK, OK, 403),
    ("siteadmin", "public"): (OK, 403, OK),
    ("siteadmin", "private"): (OK, 403, OK),
}


@pytest.mark.parametrize("who,visibility", USER_MATRIX)
def test_users(world, who, visibility):
    users, repos = world
    actor = ANONYMOUS if who == "anonymous" else user_actor(users[who])
    got = tuple(outcome(actor, repos[visibility].name, need) for need in NEEDS)
    assert got == USER_MATRIX[(who, visibility)]


# (token owner, scopes, repository) -> outcome for read, write, admin
AGENT_MATRIX = {
    ("owner", "", "public"): (OK, 403, 403),
    ("owner", "", "private"): (404, 404, 404),
    ("owner", "repo:read", "private"): (OK, 403, 403),
    ("owner", "repo:write", "private"): (OK, OK, 403),
    ("owner", "repo:write admin", "private"): (OK, OK, OK),
    ("owner", "admin", "private"): (OK, 403, OK),  # admin implies repo:read
    ("owner", "issues:write", "public"): (OK, 403, 403),
    ("writer", "repo:read", "private"): (OK, 403, 403),
    ("writer", "repo:write", "private"): (OK, OK, 403),
    ("reader", "repo:write", "private"): (OK, 403, 403),
    ("stranger", "repo:write admin", "private"): (404, 404, 404),
    ("stranger", "repo:write admin", "public"): (OK, 403, 403),
    ("siteadmin", "repo:read admin", "private"): (OK, 403, OK),
    ("siteadmin", "admin", "private"): (OK, 403, OK),
}


@pytest.mark.parametrize("who,scopes,visibility", AGENT_MATRIX)
def test_agents(world, who, scopes, visibility):
    users, repos = world
    actor = agent_actor(users[who], scopes.split())
    got = tuple(outcome(actor, repos[visibility].name, need) for need in NEEDS)
    assert got == AGENT_MATRIX[(who, scopes, visibility)]


def test_missing_repository(world):
    users, _ = world
    assert outcome(ANONYMOUS, "nothing-here", "read") == 401
    assert outcome(user_actor(users["owner"]), "nothing-here", "read") == 404
    with pytest.raises(RepoNotFound):
        access_repo(user_actor(users["owner"]), "no-such-owner", "public-repo", "read")


def test_lookup_ignores_case_and_a_git_suffix(world):
    users, repos = world
    actor = user_actor(users["owner"])
    assert access_repo(actor, "OWNER", "Private-Repo.git", "write") == repos["private"]
    assert access_repo(ANONYMOUS, "Owner", "PUBLIC-REPO.GIT", "read") == repos["public"]


def test_inactive_site_admin_loses_admin_rights(world):
    users, _ = world
    admin = users["siteadmin"]
    admin.is_active = False
    admin.save()
    assert outcome(user_actor(admin), "private-repo", "read") == 404


def test_lists_show_exactly_what_access_repo_allows(world):
    users, repos = world
    actors = [ANONYMOUS] + [user_actor(user) for user in users.values()]
    actors += [agent_actor(user, ["issues:write"]) for user in users.values()]
    actors += [agent_actor(user, ["repo:read"]) for user in users.values()]
    for actor in actors:
        listed = {repo.name for repo in repositories_for_owner(users["owner"], actor)}
        readable = {repo.name for repo in repos.values() if outcome(actor, repo.name, "read") == OK}
        assert listed == readable, actor


def test_can_create_in_own_namespace_only(world):
    users, _ = world
    owner = users["owner"]
    assert can_create_in(user_actor(owner), "owner")
    assert can_create_in(user_actor(owner), "OWNER")
    assert not can_create_in(user_actor(owner), "writer")
    assert can_create_in(agent_actor(owner, ["repo:write"]), "owner")
    assert not can_create_in(agent_actor(owner, ["repo:read"]), "owner")
    assert not can_create_in(ANONYMOUS, "owner")
    assert not can_create_in(user_actor(users["siteadmin"]), "owner")
