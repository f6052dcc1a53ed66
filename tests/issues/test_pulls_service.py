"""issues.pulls: opening pull requests, following pushes, and merging, with repositories made by
real git and landed in stores the way pushes land."""
import pytest

from issues.models import Event, Issue, PullRequest
from repos.store import RepoStore
from repos.store.packformat import ZERO_OID
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

pytestmark = pytest.mark.django_db


def _commit(work, path, text, message):
    (work / path).write_text(text)
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def branches_git(tmp_path_factory):
    """main, `feature` (clean to merge: edits the top of app.py, adds a file), `clash` (edits the
    line main edits), `behind` (an ancestor of main)."""
    work = tmp_path_factory.mktemp("pulls-src")
    git("init", "-q", "-b", "main", work)
    lines = "".join(f"line {i}\n" for i in range(30))
    _commit(work, "app.py", lines, "Start")
    git("-C", work, "branch", "behind")
    git("-C", work, "checkout", "-q", "-b", "feature")
    _commit(work, "app.py", "top\n" + lines.split("\n", 1)[1], "Change the top")
    _commit(work, "new.txt", "new\n", "Add new.txt")
    git("-C", work, "checkout", "-q", "-b", "clash", "main")
    _commit(work, "app.py", lines.rsplit("line 29\n", 1)[0] + "clash\n", "Clash at the bottom")
    git("-C", work, "checkout", "-q", "main")
    _commit(work, "app.py", lines.rsplit("line 29\n", 1)[0] + "bottom\n", "Change the bottom")
    bare = tmp_path_factory.mktemp("pulls-bare") / "src.git"
    git("clone", "-q", "--bare", work, bare)
    return bare


@pytest.fixture
def repo(people, branches_git, tmp_path):
    from repos.selectors import store_path
    from repos.services import create_repository
    from repos.models import Collaborator
    repo = create_repository(people["alice"], "twigs")
    Collaborator.objects.create(repository=repo, user=people["bob"], permission="read")
    Collaborator.objects.create(repository=repo, user=people["carol"], permission="write")
    (tmp_path / "m").mkdir()
    with RepoStore.open(store_path(repo)) as store:
        mirror(store, tmp_path / "m", branches_git)
    return repo


def _ref(repo, name):
    from repos.selectors import store_path
    with RepoStore.open(store_path(repo)) as store:
        return store.ref(name)


def _open(people, repo, head="feature", who="owner"):
    from issues.pulls import open_pull_request
    from tests.issues.conftest import actor_named
    return open_pull_request(actor_named(people, who), repo, "main", head, f"Merge {head}", "Please")


def test_open_records_the_branches_and_shares_the_issue_numbers(people, repo):
    from issues.services import create_issue
    from tests.issues.conftest import actor_named
    create_issue(actor_named(people, "owner"), repo, "An issue first")
    issue = _open(people, repo)
    assert issue.number == 2 and issue.kind == Issue.PULL
    pull = issue.pull
    assert (pull.base_ref, pull.head_ref) == ("main", "feature")
    assert pull.head_oid == _ref(repo, "refs/heads/feature").hex()
    assert pull.base_oid == _ref(repo, "refs/heads/main").hex()


def test_the_merge_base_is_gits(people, repo, branches_git):
    pull = _open(people, repo).pull
    assert pull.merge_base_oid == out("-C", branches_git, "merge-base", "main", "feature").strip()


@pytest.mark.parametrize("base, head, field, message", [
    ("main", "main", "head", "two different"),
    ("main", "nope", "head", "no branch"),
    ("nope", "feature", "base", "no branch"),
    ("main", "behind", "head", "already contains"),
])
def test_open_refuses_what_cannot_be_a_pull_request(people, repo, base, head, field, message):
    from issues.pulls import open_pull_request
    from issues.services import InvalidInput
    from tests.issues.conftest import actor_named
    with pytest.raises(InvalidInput) as raised:
        open_pull_request(actor_named(people, "owner"), repo, base, head, "t")
    assert raised.value.field == field and message in str(raised.value)
    assert not Issue.objects.exists()


def test_only_one_open_pull_request_per_pair(people, repo):
    from issues.services import InvalidInput
    first = _open(people, repo)
    with pytest.raises(InvalidInput, match=f"#{first.number}"):
        _open(people, repo)


def test_refresh_computes_mergeability_and_lists_conflicts(people, repo):
    from issues.pulls import refresh
    clean = refresh(_open(people, repo).pull)
    assert clean.merge_state == PullRequest.CLEAN and clean.conflicts == []
    clash = refresh(_open(people, repo, head="clash").pull)
    assert clash.merge_state == PullRequest.CONFLICT and clash.conflicts == ["app.py"]


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_moves_the_base_and_closes_the_pull_request(people, repo, method):
    from issues.pulls import merge_pull_request
    from tests.issues.conftest import actor_named
    pull = _open(people, repo).pull
    before = _ref(repo, "refs/heads/main")
    merged = merge_pull_request(actor_named(people, "writer"), pull, method, expected_head=pull.head_oid,
                                delete_branch=True)
    assert _ref(repo, "refs/heads/main") == merged.new_tip != before
    assert _ref(repo, "refs/heads/feature") is None  # deleted after merging
    pull.refresh_from_db()
    assert pull.is_merged and pull.merge_method == method and pull.merged_by == people["carol"]
    assert pull.merge_commit_oid == merged.new_tip.hex()
    assert pull.issue.state == Issue.CLOSED
    assert Event.objects.filter(issue=pull.issue, kind=Event.MERGED).count() == 1


def test_a_conflict_or_a_moved_head_changes_nothing(people, repo):
    from issues.pulls import MergeFailed, merge_pull_request
    from tests.issues.conftest import actor_named
    owner = actor_named(people, "owner")
    before = _ref(repo, "refs/heads/main")
    clash = _open(people, repo, head="clash").pull
    with pytest.raises(MergeFailed) as raised:
        merge_pull_request(owner, clash, "merge")
    assert raised.value.conflicts == ["app.py"] and "conflict" in str(raised.value)
    pull = _open(people, repo).pull
    with pytest.raises(MergeFailed, match="head branch moved"):
        merge_pull_request(owner, pull, "merge", expected_head="0" * 40)
    assert _ref(repo, "refs/heads/main") == before
    for row in (clash, pull):
        row.refresh_from_db()
        assert not row.is_merged and row.issue.state == Issue.OPEN


@pytest.mark.parametrize("who, allowed", [
    ("anonymous", False), ("stranger", False), ("reader", False), ("writer", True), ("owner", True),
    ("agent", False), ("agent_without_scope", False), ("merging_agent", True), ("merging_agent_read_only", False),
])
def test_who_may_merge(people, repo, who, allowed):
    from accounts.actor import agent_actor
    from issues.pulls import merge_pull_request
    from issues.services import NotAllowed
    from tests.issues.conftest import actor_named
    actor = {
        # carol is a write collaborator; her token needs pulls:merge to merge.
        "merging_agent": lambda: agent_actor(people["carol"], ["repo:read", "pulls:merge"]),
        # bob only reads: pulls:merge on his token gives him nothing he does not have.
        "merging_agent_read_only": lambda: agent_actor(people["bob"], ["repo:read", "pulls:merge"]),
    }.get(who, lambda: actor_named(people, who))()
    pull = _open(people, repo).pull
    before = _ref(repo, "refs/heads/main")
    if allowed:
        merge_pull_request(actor, pull, "merge")
        assert _ref(repo, "refs/heads/main") != before
    else:
        with pytest.raises(NotAllowed):
            merge_pull_request(actor, pull, "merge")
        assert _ref(repo, "refs/heads/main") == before


def test_pushes_are_followed(people, repo, branches_git, tmp_path):
    """A push to the head marks the pull request for recomputation; a push that brings the head
    into the base merges it; deleting the head marks it gone."""
    from repos.selectors import store_path
    from repos.signals import send_refs_moved
    from repos.store.write import write_and_move_ref
    pull = _open(people, repo).pull
    other = _open(people, repo, head="clash").pull
    from issues.pulls import refresh
    for row in (pull, other):
        refresh(row)
    feature = _ref(repo, "refs/heads/feature")
    main = _ref(repo, "refs/heads/main")
    # Someone merged feature on their machine and pushed: main now contains feature's tip.
    with RepoStore.open(store_path(repo)) as store:
        write_and_move_ref(store, {}, "refs/heads/main", main, feature)
    send_refs_moved(repo, [("refs/heads/main", main, feature)])
    pull.refresh_from_db()
    assert pull.is_merged and pull.merge_state == PullRequest.MERGED and pull.issue.state == Issue.CLOSED
    other.refresh_from_db()
    assert other.merge_state == PullRequest.UNKNOWN and other.base_oid == feature.hex()
    clash = _ref(repo, "refs/heads/clash")
    with RepoStore.open(store_path(repo)) as store:
        write_and_move_ref(store, {}, "refs/heads/clash", clash, ZERO_OID)
    send_refs_moved(repo, [("refs/heads/clash", clash, ZERO_OID)])
    other.refresh_from_db()
    assert other.merge_state == PullRequest.GONE
    assert Event.objects.filter(issue=other.issue, kind=Event.HEAD_DELETED).exists()
