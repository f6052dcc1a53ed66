"""Who may do what to issues: one function per action, shared by the web views and (later) the API.

The rules (GitHub's):
- see issues: whoever may read the repository (accounts.access.allowed_needs);
- open an issue, comment: any signed-in person who may read the repository;
- close/reopen: the issue's author, or a triager;
- labels, assignees, creating labels, closing others' issues: a triager, that is the owner or a
  collaborator with write (a site admin too, as for the repository's settings);
- edit a comment: its author, or the repository's admins (owner, site admins) for moderation.
An agent acts as its user, needs `issues:write` for every change, and must itself be able to read
the repository (a private one needs repo:read on its token). Nothing here raises: each answers a bool.
"""
from accounts.access import ADMIN_ACCESS, READ, WRITE, allowed_needs
from accounts.actor import USER, Actor
from accounts.scopes import ISSUES_WRITE, PULLS_MERGE


def can_read(actor: Actor, repo) -> bool:
    return READ in allowed_needs(actor, repo)


def _user_needs(actor: Actor, repo) -> frozenset[str]:
    """What the actor's user may do to the repository, before an agent's scopes narrow it."""
    if actor.is_anonymous or actor.user_id is None:
        return frozenset()
    return allowed_needs(Actor(kind=USER, user_id=actor.user_id, name=actor.name), repo)


def _may_change(actor: Actor, repo) -> bool:
    """Signed in, able to read the repository itself, and (an agent) holding issues:write."""
    return (not actor.is_anonymous and actor.user_id is not None and actor.has_scope(ISSUES_WRITE)
            and can_read(actor, repo))


def is_triager(actor: Actor, repo) -> bool:
    needs = _user_needs(actor, repo)
    return _may_change(actor, repo) and (WRITE in needs or ADMIN_ACCESS in needs)


def can_open(actor: Actor, repo) -> bool:
    return _may_change(actor, repo)


def can_comment(actor: Actor, issue) -> bool:
    return _may_change(actor, issue.repository)


def can_close(actor: Actor, issue) -> bool:
    """Close or reopen."""
    repo = issue.repository
    if not _may_change(actor, repo):
        return False
    return (issue.author_id is not None and issue.author_id == actor.user_id) or is_triager(actor, repo)


def can_edit_comment(actor: Actor, comment) -> bool:
    repo = comment.issue.repository
    if not _may_change(actor, repo):
        return False
    if comment.author_id is not None and comment.author_id == actor.user_id:
        return True
    return ADMIN_ACCESS in _user_needs(actor, repo)


def can_set_labels(actor: Actor, issue) -> bool:
    return is_triager(actor, issue.repository)


def can_set_assignees(actor: Actor, issue) -> bool:
    return is_triager(actor, issue.repository)


def can_manage_labels(actor: Actor, repo) -> bool:
    return is_triager(actor, repo)


def can_merge(actor: Actor, repo) -> bool:
    """Merge a pull request: the owner or a collaborator with write (pushing to the target is what a
    merge does). An agent needs pulls:merge — its own permission, so a token may merge without
    being able to push — and must be able to read the repository; its user needs write."""
    return (not actor.is_anonymous and actor.user_id is not None and actor.has_scope(PULLS_MERGE)
            and can_read(actor, repo) and WRITE in _user_needs(actor, repo))
