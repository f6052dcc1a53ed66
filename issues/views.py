"""/OWNER/NAME/issues pages. Thin: reads come from issues.selectors, changes from issues.services,
who-may-what from issues.permissions.

Every change is a POST with CSRF, answered with a redirect and a flash message (Post/Redirect/Get);
input that cannot be accepted shows the page again with the error. When htmx sends the POST
(header HX-Request), posting a comment answers with the new comment (`_comment.html`) and closing
or reopening with the new state (`_state.html`), so the page changes without a reload.
"""
import functools
from html import escape
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.views.common import login_redirect
from issues import permissions, selectors, services
from issues.models import Comment, Issue
from issues.rendering import references_for, render_body
from issues.selectors import IssueFilters
from repos.views.common import VARY, negotiated, page_number, repo_page

PER_PAGE = 25


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def issues_page(view):
    """repo_page (read access or 404, the store borrowed), plus: NotAllowed sends an anonymous
    visitor to sign in and answers 403 to anyone else; nothing here is cached."""

    @repo_page
    @functools.wraps(view)
    def wrapper(request, ctx, **kwargs):
        ctx.issues_base = f"{ctx.base}/issues"
        ctx.references = references_for(ctx.repo, ctx.store)
        try:
            response = view(request, ctx, **kwargs)
        except services.NotAllowed as refusal:
            if request.actor.is_anonymous:
                return login_redirect(request)
            response = HttpResponseForbidden(f"{refusal}\n", content_type="text/plain; charset=utf-8")
        add_never_cache_headers(response)
        patch_vary_headers(response, VARY + ("HX-Request",))
        return response

    return wrapper


def _page(request, ctx, template, context, status=200):
    return negotiated(request, template, {"ctx": ctx, "repo": ctx.repo, "tab": "issues", **context}, status)


def _issue_or_404(ctx, number) -> Issue:
    issue = selectors.get_issue(ctx.repo, int(number))
    if issue is None:
        raise Http404("No such issue")
    return issue


def _issue_url(ctx, issue, anchor=""):
    return f"{ctx.issues_base}/{issue.number}" + (f"#{anchor}" if anchor else "")


def comment_error_fragment(error) -> HttpResponse:
    """htmx: an unacceptable comment's message, put in #comment-errors instead of the timeline."""
    response = HttpResponse(f'<p class="error">{escape(str(error))}</p>', status=200)
    response["HX-Retarget"], response["HX-Reswap"] = "#comment-errors", "innerHTML"
    return response


def comment_fragment(request, ctx, issue, comment) -> HttpResponse:
    """htmx: the new comment, appended to the timeline."""
    comment.is_comment = True
    return HttpResponse(render_to_string("issues/_comment.html", {
        "ctx": ctx, "issue": issue, "item": comment, "render": lambda text: render_body(text, ctx.references),
        "may_edit": lambda c: permissions.can_edit_comment(request.actor, c)}, request))


def state_fragment(request, template, context, issue, state_before) -> HttpResponse:
    """htmx: the new state, with the timeline event it made sent out of band."""
    event = issue.events.last() if issue.state != state_before else None
    if event is not None:
        event.is_comment = False
    return HttpResponse(render_to_string(template, {**context, "issue": issue, "may_close": True,
                                                    "oob_event": event}, request))


# --- list and new ----------------------------------------------------------------------------------------------

def list_context(request, repo, kind, base_url, *, related=()):
    """What an issue or pull request list page shows: one page of rows under the filters of the
    query string, the counts per state, and the links that change one filter or the page."""
    filters = IssueFilters.from_query(request.GET)
    counts = selectors.state_counts(repo, filters, kind=kind)
    page = page_number(request)
    query = selectors.list_issues(repo, filters, kind=kind).select_related(*related)
    rows = list(query[(page - 1) * PER_PAGE: page * PER_PAGE + 1])
    more = len(rows) > PER_PAGE

    def link(**changes):
        params = {key: value for key, value in {**filters.__dict__, **changes}.items() if value}
        if params.get("state") == Issue.OPEN:
            params.pop("state")
        return f"{base_url}?{urlencode(params)}" if params else base_url

    return {
        "rows": rows[:PER_PAGE], "filters": filters, "counts": counts, "page": page,
        "open_url": link(state=Issue.OPEN, page=None), "closed_url": link(state=Issue.CLOSED, page=None),
        "next_url": link(page=page + 1) if more else None,
        "prev_url": link(page=page - 1 if page > 2 else None) if page > 1 else None,
        "may_open": permissions.can_open(request.actor, repo),
        "clear_url": link(author=None, label=None, assignee=None, q=None),
    }


@require_safe
@issues_page
def issue_list(request, ctx):
    return _page(request, ctx, "issues/list", {
        **list_context(request, ctx.repo, Issue.ISSUE, ctx.issues_base),
        "labels": selectors.repo_labels(ctx.repo),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@issues_page
def new_issue(request, ctx):
    if not permissions.can_open(request.actor, ctx.repo):
        raise services.NotAllowed("you may not open issues here")
    errors, values = {}, {"title": "", "body": ""}
    if request.method == "POST":
        values = {"title": request.POST.get("title", ""), "body": request.POST.get("body", "")}
        try:
            issue = services.create_issue(request.actor, ctx.repo, values["title"], values["body"])
        except services.InvalidInput as error:
            errors[error.field] = str(error)
        else:
            messages.success(request, f"Opened issue #{issue.number}.")
            return HttpResponseRedirect(_issue_url(ctx, issue))
    return _page(request, ctx, "issues/new", {"errors": errors, "values": values}, status=400 if errors else 200)


# --- one issue -----------------------------------------------------------------------------------------------------

def _issue_context(request, ctx, issue, **extra):
    actor = request.actor
    return {
        "issue": issue, "body_html": render_body(issue.body, ctx.references),
        "timeline": selectors.timeline(issue), "render": lambda text: render_body(text, ctx.references),
        "may_comment": permissions.can_comment(actor, issue), "may_close": permissions.can_close(actor, issue),
        "may_triage": permissions.can_set_labels(actor, issue),
        "may_edit": lambda comment: permissions.can_edit_comment(actor, comment),
        "labels": list(issue.labels.all()), "assignees": list(issue.assignees.all()),
        "all_labels": selectors.repo_labels(ctx.repo), "participants": selectors.participants(issue),
        "errors": {}, "values": {}, **extra,
    }


@require_safe
@issues_page
def issue_detail(request, ctx, number):
    issue = _issue_or_404(ctx, number)
    if issue.is_pull:
        return HttpResponseRedirect(f"{ctx.base}/pulls/{issue.number}")
    return _page(request, ctx, "issues/issue", _issue_context(request, ctx, issue))


@require_POST
@issues_page
def comment(request, ctx, number):
    issue = _issue_or_404(ctx, number)
    body = request.POST.get("body", "")
    try:
        new = services.add_comment(request.actor, issue, body)
    except services.InvalidInput as error:
        if is_htmx(request):
            return comment_error_fragment(error)
        context = _issue_context(request, ctx, issue, errors={"body": str(error)}, values={"body": body})
        return _page(request, ctx, "issues/issue", context, status=400)
    if is_htmx(request):
        return comment_fragment(request, ctx, issue, new)
    messages.success(request, "Comment added.")
    return HttpResponseRedirect(_issue_url(ctx, issue, f"comment-{new.pk}"))


@require_POST
@issues_page
def change_state(request, ctx, number):
    issue = _issue_or_404(ctx, number)
    action = request.POST.get("action")
    if action not in ("close", "reopen"):
        return HttpResponse("action must be close or reopen\n", status=400, content_type="text/plain")
    was = issue.state
    (services.close_issue if action == "close" else services.reopen_issue)(request.actor, issue)
    if is_htmx(request):
        return state_fragment(request, "issues/_state.html", {"ctx": ctx}, issue, was)
    messages.success(request, f"Issue #{issue.number} {'closed' if action == 'close' else 'reopened'}.")
    return HttpResponseRedirect(_issue_url(ctx, issue))


@require_http_methods(["GET", "HEAD", "POST"])
@issues_page
def edit_comment(request, ctx, number, comment_id):
    issue = _issue_or_404(ctx, number)
    target = get_object_or_404(Comment.objects.select_related("issue__repository"), pk=comment_id, issue=issue)
    if not permissions.can_edit_comment(request.actor, target):
        raise services.NotAllowed("you may not edit this comment")
    errors, body = {}, target.body
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            services.edit_comment(request.actor, target, body)
        except services.InvalidInput as error:
            errors["body"] = str(error)
        else:
            messages.success(request, "Comment updated.")
            return HttpResponseRedirect(_issue_url(ctx, issue, f"comment-{target.pk}"))
    return _page(request, ctx, "issues/edit_comment",
                 {"issue": issue, "comment": target, "body": body, "errors": errors}, status=400 if errors else 200)


@require_POST
@issues_page
def set_labels(request, ctx, number):
    issue = _issue_or_404(ctx, number)
    try:
        services.set_labels(request.actor, issue, request.POST.getlist("label"))
    except services.InvalidInput as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Labels updated.")
    return HttpResponseRedirect(_issue_url(ctx, issue))


@require_POST
@issues_page
def set_assignees(request, ctx, number):
    issue = _issue_or_404(ctx, number)
    names = request.POST.get("assignees", "").replace(",", " ").split()
    try:
        services.set_assignees(request.actor, issue, names)
    except services.InvalidInput as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Assignees updated.")
    return HttpResponseRedirect(_issue_url(ctx, issue))


# --- labels --------------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
@issues_page
def labels(request, ctx):
    may_manage = permissions.can_manage_labels(request.actor, ctx.repo)
    errors, values = {}, {"name": "", "color": "#ededed", "description": ""}
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            label = services.create_label(request.actor, ctx.repo, **values)
        except services.InvalidInput as error:
            errors[error.field] = str(error)
        else:
            messages.success(request, f"Label {label.name} created.")
            return HttpResponseRedirect(f"{ctx.issues_base}/labels")
    return _page(request, ctx, "issues/labels", {"labels": selectors.repo_labels(ctx.repo), "may_manage": may_manage,
                                                 "errors": errors, "values": values}, status=400 if errors else 200)
