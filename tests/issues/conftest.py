"""Issues tests: alice/proj (public) and alice/secret (private), with bob a read collaborator,
carol a write collaborator and mallory a stranger; the actors of the permission matrix."""
import pytest

from repos.store import RepoStore
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

ACTORS = ("anonymous", "stranger", "reader", "writer", "owner", "agent", "agent_without_scope")


@pytest.fixture(scope="session")
def small_git(tmp_path_factory):
    """Two commits made by real git; returns (bare path, [commit hex, ...])."""
    work = tmp_path_factory.mktemp("issues-src")
    git("init", "-q", "-b", "main", work)
    for n in range(2):
        (work / "file.txt").write_text(f"version {n}\n")
        git("-C", work, "add", "-A")
        git("-C", work, "commit", "-q", "-m", f"commit {n}")
    bare = tmp_path_factory.mktemp("issues-bare") / "small.git"
    git("clone", "-q", "--bare", work, bare)
    return bare, out("-C", bare, "rev-list", "main").split()


@pytest.fixture
def people(db, make_user, small_git, tmp_path):
    # Django is configured by tests/conftest.py, after pytest may have imported this file.
    from repos.models import Collaborator
    from repos.selectors import store_path
    from repos.services import create_repository
    alice, bob, carol, mallory = (make_user(name) for name in ("alice", "bob", "carol", "mallory"))
    proj = create_repository(alice, "proj")
    secret = create_repository(alice, "secret", private=True)
    for repo in (proj, secret):
        Collaborator.objects.create(repository=repo, user=bob, permission="read")
        Collaborator.objects.create(repository=repo, user=carol, permission="write")
    with RepoStore.open(store_path(proj)) as store:
        mirror(store, tmp_path, small_git[0])
    return {"alice": alice, "bob": bob, "carol": carol, "mallory": mallory, "proj": proj, "secret": secret}


def actor_named(people, who):
    """The actor for a row of the permission matrix. The agents are carol's (a write collaborator)."""
    from accounts.actor import ANONYMOUS, agent_actor, user_actor
    return {
        "anonymous": lambda: ANONYMOUS,
        "stranger": lambda: user_actor(people["mallory"]),
        "reader": lambda: user_actor(people["bob"]),
        "writer": lambda: user_actor(people["carol"]),
        "owner": lambda: user_actor(people["alice"]),
        "agent": lambda: agent_actor(people["carol"], ["repo:read", "issues:write"]),
        "agent_without_scope": lambda: agent_actor(people["carol"], ["repo:read", "repo:write"]),
    }[who]()
