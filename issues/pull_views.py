"""/OWNER/NAME/pulls pages: the list, opening one, and one pull request's conversation, commits and
files. Thin, as issues/views.py: opening and merging are issues.pulls, reviews and line comments
issues.reviews, comments and close/reopen issues.services (a pull request's conversation is its
issue's comment thread). Every change is a POST with CSRF answered by a redirect (Post/Redirect/Get);
htmx posts of comments and state changes get the fragment to swap in, as on the issue pages.

The pages are never cached (issues_page): the merge box must say what is true now."""
import functools

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from issues import permissions, pulls, reviews, selectors, services
from issues.models import Issue, PullRequest, Review, ReviewComment
from issues.rendering import render_body
from issues.views import comment_error_fragment, comment_fragment, is_htmx, issues_page, list_context, state_fragment
from repos import browsing
from repos.fragments import cached
from repos.render.diffview import STATUS_WORDS
from repos.store import diff as diffs
from repos.store import history
from repos.store.pullmerge import METHODS
from repos.views.common import negotiated

BRANCH = "refs/heads/"
MAX_COMMITS = 250


def pulls_page(view):
    """issues_page (read access or 404; NotAllowed: sign in or 403; never cached) plus ctx.pulls_base."""

    @issues_page
    @functools.wraps(view)
    def wrapper(request, ctx, **kwargs):
        ctx.pulls_base = f"{ctx.base}/pulls"
        return view(request, ctx, **kwargs)

    return wrapper


def _page(request, ctx, template, context, status=200):
    return negotiated(request, f"issues/pulls/{template}",
                      {"ctx": ctx, "repo": ctx.repo, "tab": "pulls", **context}, status)


def _pull_or_404(ctx, number) -> PullRequest:
    issue = selectors.get_issue(ctx.repo, int(number))
    if issue is None or not issue.is_pull:
        raise Http404("No such pull request")
    pull = PullRequest.objects.select_related("merged_by").get(issue=issue)
    pull.issue = issue
    return pull


def _pull_url(ctx, pull, tail=""):
    return f"{ctx.pulls_base}/{pull.issue.number}{tail}"


def _oid(hex_text):
    return bytes.fromhex(hex_text) if hex_text else None


def _tree_diff(ctx, old, new):
    """The diff between two commits' trees, cached as the compare page caches it (same key)."""
    graph = ctx.store.graph
    return cached(("cmp", ctx.repo.store_id, old, new),
                  lambda: diffs.diff_trees(ctx.store, graph.node(old).tree, graph.node(new).tree))


# --- list ----------------------------------------------------------------------------------------------------------

@require_safe
@pulls_page
def pull_list(request, ctx):
    return _page(request, ctx, "list", list_context(request, ctx.repo, Issue.PULL, ctx.pulls_base,
                                                     related=("pull",)))


# --- new -----------------------------------------------------------------------------------------------------------

def _comparison(ctx, base, head):
    """What the new pull request form shows of base...head: commits and the diff's file list."""
    base_tip, head_tip = ctx.store.ref(BRANCH + base), ctx.store.ref(BRANCH + head)
    if base_tip is None or head_tip is None or base_tip == head_tip:
        return None
    merge_base = history.merge_base(ctx.store, base_tip, head_tip)
    if merge_base is None:
        return {"unrelated": True}
    commits = history.commits_between(ctx.store, base_tip, head_tip, limit=MAX_COMMITS)
    return {"unrelated": False, "commits": commits, "diff": _tree_diff(ctx, merge_base, head_tip),
            "merge_base": merge_base, "head_summary": history.commit_info(ctx.store, head_tip).summary}


@require_http_methods(["GET", "HEAD", "POST"])
@pulls_page
def new_pull(request, ctx):
    if not permissions.can_open(request.actor, ctx.repo):
        raise services.NotAllowed("you may not open pull requests here")
    branches = [ref.name for ref in browsing.refs(ctx.store)[0]]
    source = request.POST if request.method == "POST" else request.GET
    default = ctx.repo.default_branch if ctx.repo.default_branch in branches else (branches[0] if branches else "")
    base = source.get("base") or default
    head = source.get("head") or ""
    comparison = _comparison(ctx, base, head) if head else None
    errors = {}
    values = {"title": (comparison or {}).get("head_summary", ""), "body": ""}
    if request.method == "POST":
        values = {"title": request.POST.get("title", ""), "body": request.POST.get("body", "")}
        try:
            issue = pulls.open_pull_request(request.actor, ctx.repo, base, head, values["title"], values["body"])
        except services.InvalidInput as error:
            errors[error.field] = str(error)
        else:
            messages.success(request, f"Opened pull request #{issue.number}.")
            return HttpResponseRedirect(f"{ctx.pulls_base}/{issue.number}")
    return _page(request, ctx, "new", {"branches": branches, "base": base, "head": head, "cmp": comparison,
                                       "errors": errors, "values": values}, status=400 if errors else 200)


# --- one pull request ----------------------------------------------------------------------------------------------

def _timeline(pull):
    """Comments, events, reviews and line comments, oldest first; each item has `.item_kind`."""
    items = selectors.timeline(pull.issue)
    for item in items:
        item.item_kind = "comment" if item.is_comment else "event"
    for review in Review.objects.filter(pull=pull).select_related("author"):
        review.is_comment, review.item_kind = False, "review"
        items.append(review)
    for note in ReviewComment.objects.filter(pull=pull).select_related("author"):
        note.is_comment, note.item_kind = False, "line"
        items.append(note)
    return sorted(items, key=lambda item: (item.created_at, item.pk))


def _commit_count(ctx, pull):
    start, head = _oid(pull.merge_base_oid), _oid(pull.head_oid)
    if head is None or ctx.store.graph.node(head) is None:
        return 0
    if start is None:
        return history.ahead_behind(ctx.store, _oid(pull.base_oid), head)[0]
    return history.ahead_behind(ctx.store, start, head)[0]


def _pull_context(request, ctx, pull, **extra):
    actor = request.actor
    issue = pull.issue
    render = lambda text: render_body(text, ctx.references)
    return {
        "pull": pull, "issue": issue, "body_html": render_body(issue.body, ctx.references),
        "timeline": _timeline(pull), "render": render, "commit_count": _commit_count(ctx, pull),
        "may_comment": permissions.can_comment(actor, issue),
        "may_close": permissions.can_close(actor, issue) and not pull.is_merged,
        "may_merge": permissions.can_merge(actor, ctx.repo),
        "may_verdict": reviews.can_review(actor, pull, Review.APPROVED),
        "may_edit": lambda comment: permissions.can_edit_comment(actor, comment),
        "methods": METHODS, "default_messages": {m: pulls.default_message(pull, m) for m in METHODS},
        "errors": {}, "values": {}, "merge_error": None, "conflicts": [], **extra,
    }


@require_safe
@pulls_page
def pull_detail(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    pulls.refresh(pull, ctx.store)
    return _page(request, ctx, "pull", _pull_context(request, ctx, pull))


@require_POST
@pulls_page
def comment(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    body = request.POST.get("body", "")
    try:
        new = services.add_comment(request.actor, pull.issue, body)
    except services.InvalidInput as error:
        if is_htmx(request):
            return comment_error_fragment(error)
        pulls.refresh(pull, ctx.store)
        context = _pull_context(request, ctx, pull, errors={"body": str(error)}, values={"body": body})
        return _page(request, ctx, "pull", context, status=400)
    if is_htmx(request):
        return comment_fragment(request, ctx, pull.issue, new)
    messages.success(request, "Comment added.")
    return HttpResponseRedirect(_pull_url(ctx, pull, f"#comment-{new.pk}"))


@require_POST
@pulls_page
def change_state(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    action = request.POST.get("action")
    if action not in ("close", "reopen"):
        return HttpResponse("action must be close or reopen\n", status=400, content_type="text/plain")
    if pull.is_merged:
        return HttpResponse("a merged pull request cannot be closed or reopened\n", status=409,
                            content_type="text/plain")
    issue = pull.issue
    was = issue.state
    (services.close_issue if action == "close" else services.reopen_issue)(request.actor, issue)
    if is_htmx(request):
        return state_fragment(request, "issues/pulls/_state.html", {"ctx": ctx, "pull": pull}, issue, was)
    messages.success(request, f"Pull request #{issue.number} {'closed' if action == 'close' else 'reopened'}.")
    return HttpResponseRedirect(_pull_url(ctx, pull))


@require_POST
@pulls_page
def merge(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    method = request.POST.get("method", "merge")
    message = request.POST.get("message", "").replace("\r\n", "\n").strip() or None
    try:
        merged = pulls.merge_pull_request(request.actor, pull, method, expected_head=request.POST.get("sha") or None,
                                          message=message, delete_branch=request.POST.get("delete_branch") == "on")
    except pulls.MergeFailed as failure:
        context = _pull_context(request, ctx, pull, merge_error=str(failure), conflicts=failure.conflicts)
        return _page(request, ctx, "pull", context, status=409)
    except services.InvalidInput as error:
        context = _pull_context(request, ctx, pull, merge_error=str(error))
        return _page(request, ctx, "pull", context, status=400)
    word = {"merge": "Merged", "squash": "Squashed and merged", "rebase": "Rebased and merged"}[method]
    messages.success(request, f"{word} pull request #{pull.issue.number} into {pull.base_ref} "
                              f"({merged.new_tip.hex()[:7]}).")
    return HttpResponseRedirect(_pull_url(ctx, pull))


@require_POST
@pulls_page
def review(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    state, body = request.POST.get("state", ""), request.POST.get("body", "")
    try:
        made = reviews.submit_review(request.actor, pull, state, body)
    except services.InvalidInput as error:
        pulls.refresh(pull, ctx.store)
        context = _pull_context(request, ctx, pull, errors={"review": str(error)}, values={"review": body})
        return _page(request, ctx, "pull", context, status=400)
    words = {Review.APPROVED: "Approved.", Review.CHANGES_REQUESTED: "Changes requested.",
             Review.COMMENTED: "Review submitted."}
    messages.success(request, words[made.state])
    return HttpResponseRedirect(_pull_url(ctx, pull, f"#review-{made.pk}"))


# --- commits and files ---------------------------------------------------------------------------------------------

def _range(ctx, pull):
    """(start, head) of what the pull request brings: its merge base (the base's tip if none is
    known) to its head, as the oids last seen."""
    head = _oid(pull.head_oid)
    if head is None or ctx.store.graph.node(head) is None:
        raise Http404("The head commit of this pull request is not in the repository")
    return _oid(pull.merge_base_oid) or _oid(pull.base_oid), head


@require_safe
@pulls_page
def pull_commits(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    pulls.refresh(pull, ctx.store)
    start, head = _range(ctx, pull)
    commits = history.commits_between(ctx.store, start, head, limit=MAX_COMMITS)
    total = history.ahead_behind(ctx.store, start, head)[0]
    return _page(request, ctx, "commits", {"pull": pull, "issue": pull.issue, "commits": commits, "total": total,
                                           "commit_count": total, "subtab": "commits"})


def _files_context(request, ctx, pull, **extra):
    start, head = _range(ctx, pull)
    diff = _tree_diff(ctx, start, head)
    notes = ReviewComment.objects.filter(pull=pull).select_related("author")
    under, outdated, gone = reviews.place_line_comments(diff, notes)
    return {"pull": pull, "issue": pull.issue, "diff": diff, "under": under, "outdated": outdated, "gone": gone,
            "new_line": _chosen_line(request, extra.get("values")), "commit_count": _commit_count(ctx, pull),
            "render": lambda text: render_body(text, ctx.references), "subtab": "files",
            "status_words": STATUS_WORDS,
            "may_comment": permissions.can_comment(request.actor, pull.issue),
            "blob_url": lambda path: ctx.url("blob", head.hex(), path), "errors": {}, "values": {}, **extra}


def _chosen_line(request, values=None):
    """(path, side, line) whose comment form is shown under its line: chosen by the line's "+"
    link (?path=&side=&line=), or the one a refused comment was for."""
    source = values or request.GET
    try:
        line = int(source.get("line", ""))
    except ValueError:
        return None
    path, side = source.get("path", ""), source.get("side", "")
    return (path, side, line) if path and side in reviews.SIDES else None


@require_safe
@pulls_page
def pull_files(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    pulls.refresh(pull, ctx.store)
    return _page(request, ctx, "files", _files_context(request, ctx, pull))


@require_POST
@pulls_page
def line_comment(request, ctx, number):
    pull = _pull_or_404(ctx, number)
    pulls.refresh(pull, ctx.store)
    start, head = _range(ctx, pull)
    fields = {key: request.POST.get(key, "") for key in ("path", "line", "side", "body")}
    try:
        note = reviews.add_line_comment(request.actor, pull, path=fields["path"], line=fields["line"],
                                        side=fields["side"], body=fields["body"],
                                        lines_in_diff=reviews.diff_lines(_tree_diff(ctx, start, head)))
    except services.InvalidInput as error:
        context = _files_context(request, ctx, pull, errors={"line": str(error)}, values=fields)
        return _page(request, ctx, "files", context, status=400)
    messages.success(request, f"Commented on {note.path} line {note.line}.")
    return HttpResponseRedirect(_pull_url(ctx, pull, f"/files#line-comment-{note.pk}"))
