"""Numbers, validation, labels, assignees, events and the list's filters and counts."""
import pytest

from issues import selectors, services
from issues.models import Issue
from issues.selectors import IssueFilters
from tests.issues.conftest import actor_named


@pytest.fixture
def owner(people):
    return actor_named(people, "owner")


def test_numbers_are_one_sequence_per_repository_shared_with_pulls(people, owner):
    proj, secret = people["proj"], people["secret"]
    first = services.create_issue(owner, proj, "one")
    pull = services.create_issue(owner, proj, "a pull", kind=Issue.PULL)
    third = services.create_issue(owner, proj, "three")
    elsewhere = services.create_issue(owner, secret, "other repo")
    assert (first.number, pull.number, third.number, elsewhere.number) == (1, 2, 3, 1)
    third.delete()
    assert services.create_issue(owner, proj, "four").number == 4     # never reused
    assert selectors.state_counts(proj) == {"open": 2, "closed": 0}    # pulls are not issues


def test_allocation_survives_a_missing_counter_row_race(people):
    from issues.models import IssueCounter
    IssueCounter.objects.create(repository=people["proj"], last_number=7)
    from django.db import transaction
    with transaction.atomic():
        assert services.allocate_number(people["proj"]) == 8


@pytest.mark.parametrize("title,body,field", [("", "", "title"), ("   ", "x", "title"), ("x" * 257, "", "title"),
                                              ("ok", "x" * (services.MAX_BODY + 1), "body")])
def test_invalid_issue_input(people, owner, title, body, field):
    with pytest.raises(services.InvalidInput) as error:
        services.create_issue(owner, people["proj"], title, body)
    assert error.value.field == field
    assert Issue.objects.count() == 0


def test_title_whitespace_is_collapsed_and_comments_need_text(people, owner):
    issue = services.create_issue(owner, people["proj"], "  a \n title ")
    assert issue.title == "a title"
    with pytest.raises(services.InvalidInput):
        services.add_comment(owner, issue, "  \n ")


def test_labels_unique_per_repository_in_any_case(people, owner):
    services.create_label(owner, people["proj"], "Bug", "D73A4A")
    with pytest.raises(services.InvalidInput):
        services.create_label(owner, people["proj"], "bug", "#000000")
    assert services.create_label(owner, people["secret"], "bug", "#000000").color == "#000000"
    for bad in ("red", "#12345", "#gggggg"):
        with pytest.raises(services.InvalidInput):
            services.create_label(owner, people["proj"], "x", bad)


def test_set_labels_and_assignees_record_events(people, owner):
    issue = services.create_issue(owner, people["proj"], "t")
    services.create_label(owner, people["proj"], "bug")
    services.create_label(owner, people["proj"], "ui")
    services.set_labels(owner, issue, ["BUG", "ui"])
    services.set_labels(owner, issue, ["ui"])
    services.set_assignees(owner, issue, ["Bob", "carol"])
    services.set_assignees(owner, issue, ["carol"])
    assert [l.name for l in issue.labels.all()] == ["ui"]
    assert [u.username for u in issue.assignees.all()] == ["carol"]
    assert sorted((e.kind, e.label_name or e.subject_name) for e in issue.events.all()) == [
        ("assigned", "bob"), ("assigned", "carol"), ("labeled", "bug"), ("labeled", "ui"),
        ("unassigned", "bob"), ("unlabeled", "bug")]
    with pytest.raises(services.InvalidInput):
        services.set_labels(owner, issue, ["nope"])
    with pytest.raises(services.InvalidInput):
        services.set_assignees(owner, issue, ["nobody"])


def test_assignees_must_be_able_to_read_the_repository(people, owner):
    issue = services.create_issue(owner, people["secret"], "t")
    with pytest.raises(services.InvalidInput, match="mallory"):
        services.set_assignees(owner, issue, ["mallory"])
    services.set_assignees(owner, issue, ["bob"])          # a read collaborator may be assigned


def test_closing_records_who_and_when(people, owner):
    issue = services.create_issue(owner, people["proj"], "t")
    services.close_issue(owner, issue)
    assert issue.closed_by == people["alice"] and issue.closed_at is not None
    services.close_issue(owner, issue)                    # closing a closed issue changes nothing
    assert issue.events.count() == 1
    services.reopen_issue(owner, issue)
    assert issue.closed_at is None and issue.closed_by is None


def test_deleting_an_account_leaves_its_issues(people, owner):
    bob = actor_named(people, "reader")
    issue = services.create_issue(bob, people["proj"], "by bob")
    services.add_comment(bob, issue, "still here")
    people["bob"].delete()
    issue.refresh_from_db()
    assert issue.author is None and issue.comments.get().author is None


def test_filters_and_counts(people, owner):
    proj = people["proj"]
    bob, carol = actor_named(people, "reader"), actor_named(people, "writer")
    services.create_label(owner, proj, "bug")
    a = services.create_issue(bob, proj, "Crash on start")
    b = services.create_issue(carol, proj, "Crash when saving files")
    c = services.create_issue(carol, proj, "Docs typo")
    services.set_labels(owner, a, ["bug"])
    services.set_labels(owner, b, ["bug"])
    services.set_assignees(owner, b, ["bob"])
    services.close_issue(owner, a)

    def numbers(**filters):
        return [i.number for i in selectors.list_issues(proj, IssueFilters(**filters))]

    assert numbers() == [c.number, b.number]
    assert numbers(state="closed") == [a.number]
    assert numbers(author="CAROL") == [c.number, b.number]
    assert numbers(label="Bug") == [b.number]
    assert numbers(assignee="bob") == [b.number]
    assert numbers(q="crash files") == [b.number]
    assert numbers(q="nothing") == []
    assert selectors.state_counts(proj, IssueFilters(label="bug")) == {"open": 1, "closed": 1}
    assert selectors.state_counts(proj) == {"open": 2, "closed": 1}
