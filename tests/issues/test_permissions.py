"""Every issue action x every kind of actor, through the services (which check issues.permissions):
the allowed ones succeed, the others raise NotAllowed and change nothing."""
import pytest

from issues import permissions, services
from issues.models import Comment, Issue, Label
from tests.issues.conftest import ACTORS, actor_named

# Who may do what on the public alice/proj. "agent" is carol's token with issues:write;
# "agent_without_scope" is carol's token with repo:write but not issues:write.
EXPECTED = {
    "open":          {"stranger", "reader", "writer", "owner", "agent"},
    "comment":       {"stranger", "reader", "writer", "owner", "agent"},
    "close_others":  {"writer", "owner", "agent"},
    "edit_others":   {"owner"},                   # the repository's admin moderates
    "label":         {"writer", "owner", "agent"},
    "assign":        {"writer", "owner", "agent"},
    "create_label":  {"writer", "owner", "agent"},
}


@pytest.fixture
def thread(people):
    """Issue #1 opened by alice with a comment by alice, and a label "bug"."""
    from accounts.actor import user_actor
    owner = user_actor(people["alice"])
    issue = services.create_issue(owner, people["proj"], "A bug", "It breaks")
    comment = services.add_comment(owner, issue, "first")
    label = services.create_label(owner, people["proj"], "bug", "#d73a4a")
    return issue, comment, label


def _attempt(action, actor, people, issue, comment):
    repo = people["proj"]
    return {
        "open": lambda: services.create_issue(actor, repo, "New"),
        "comment": lambda: services.add_comment(actor, issue, "hi"),
        "close_others": lambda: services.close_issue(actor, issue),
        "edit_others": lambda: services.edit_comment(actor, comment, "changed"),
        "label": lambda: services.set_labels(actor, issue, ["bug"]),
        "assign": lambda: services.set_assignees(actor, issue, ["bob"]),
        "create_label": lambda: services.create_label(actor, repo, "feature", "#00ff00"),
    }[action]()


def _state(issue):
    issue.refresh_from_db()
    return (Issue.objects.count(), Comment.objects.count(), list(Comment.objects.values_list("body", flat=True)),
            issue.state, list(issue.labels.all()), list(issue.assignees.all()), Label.objects.count())


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("action", list(EXPECTED))
def test_permission_matrix(people, thread, action, who):
    issue, comment, _ = thread
    actor = actor_named(people, who)
    before = _state(issue)
    if who in EXPECTED[action]:
        _attempt(action, actor, people, issue, comment)
        assert _state(issue) != before
    else:
        with pytest.raises(services.NotAllowed):
            _attempt(action, actor, people, issue, comment)
        assert _state(issue) == before


@pytest.mark.parametrize("who", ["stranger", "reader", "agent"])
def test_the_author_closes_and_reopens_their_own_issue(people, who):
    actor = actor_named(people, who)
    issue = services.create_issue(actor, people["proj"], "Mine")
    assert services.close_issue(actor, issue).state == "closed"
    assert services.reopen_issue(actor, issue).state == "open"
    assert [e.kind for e in issue.events.all()] == ["closed", "reopened"]


@pytest.mark.parametrize("who", ["stranger", "reader", "writer", "agent"])
def test_the_author_edits_their_own_comment(people, thread, who):
    actor = actor_named(people, who)
    mine = services.add_comment(actor, thread[0], "typo")
    assert services.edit_comment(actor, mine, "fixed").edited


def test_an_agent_without_the_scope_cannot_edit_or_close_even_its_users_own(people):
    from accounts.actor import user_actor
    carol = user_actor(people["carol"])
    issue = services.create_issue(carol, people["proj"], "Carol's")
    comment = services.add_comment(carol, issue, "carol's")
    agent = actor_named(people, "agent_without_scope")
    for attempt in (lambda: services.close_issue(agent, issue), lambda: services.edit_comment(agent, comment, "x")):
        with pytest.raises(services.NotAllowed):
            attempt()


# On the private alice/secret, only those who can read it may do anything; a stranger is refused
# everything (the pages answer 404 before asking).
@pytest.mark.parametrize("who,may_open", [("anonymous", False), ("stranger", False), ("reader", True),
                                          ("writer", True), ("owner", True), ("agent", True),
                                          ("agent_without_scope", False)])
def test_private_repository(people, who, may_open):
    actor = actor_named(people, who)
    assert permissions.can_read(actor, people["secret"]) == (who not in ("anonymous", "stranger"))
    assert permissions.can_open(actor, people["secret"]) == may_open


def test_an_agent_whose_token_cannot_read_a_private_repository_cannot_open_issues_there(people):
    from accounts.actor import agent_actor
    agent = agent_actor(people["carol"], ["issues:write"])
    assert not permissions.can_open(agent, people["secret"])
    assert permissions.can_open(agent, people["proj"])      # public: reading needs no scope
