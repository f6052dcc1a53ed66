"""History pages: commit log (whole or of one path), one commit, and the comparison of two refs."""
from urllib.parse import urlencode

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_safe

from repos import browsing
from repos.fragments import cached
from repos.render import diffview
from repos.store import diff as diffs
from repos.store import history
from repos.store.browse import NotFound, resolve_commit
from repos.views.code import Located
from repos.views.common import etag_for, is_full_sha, not_modified, page_number, render_page, repo_page
from repos.views.timefmt import local_time

PER_PAGE = 30


@require_safe
@repo_page
def commits(request, ctx, spec=""):
    if not spec:
        default = browsing.default_ref(ctx.repo, ctx.store)
        if default is None:
            raise Http404("This repository is empty")
        spec = default[0]
    here = Located(ctx, spec)
    page = page_number(request)
    cursor = request.GET.get("after") or None
    author = (request.GET.get("author") or "").strip() or None
    etag = etag_for(request, ctx, here.commit, "log")
    if (response := not_modified(request, etag)):
        return response
    try:
        log = history.log_page(ctx.store, here.commit, path=here.path, page=page, per_page=PER_PAGE,
                               cursor=cursor, author=author)
    except ValueError:  # a cursor that does not belong to this history: start from the page number alone
        log = history.log_page(ctx.store, here.commit, path=here.path, page=page, per_page=PER_PAGE, author=author)
    base_query = {"author": author} if author else {}
    next_url = prev_url = None
    if log.has_next:
        query = {**base_query, "page": page + 1}
        if log.next_cursor:
            query["after"] = log.next_cursor
        next_url = "?" + urlencode(query)
    if page > 1:
        prev_url = "?" + urlencode({**base_query, "page": page - 1})
    context = {"here": here, "log": log, "page": page, "author": author or "", "next_url": next_url,
               "prev_url": prev_url, "days": _by_day(log.commits), **browsing.switcher(ctx.repo, ctx.store)}
    return render_page(request, ctx, "repos/commits", context, etag=etag, immutable=here.immutable)


def _by_day(infos):
    days = []
    for info in infos:
        day = local_time(info.committer_time, info.committer_tz)[:10]
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(info)
    return days


def _diff_view(request):
    return "split" if request.GET.get("view") == "split" else "unified"


@require_safe
@repo_page
def commit(request, ctx, sha):
    try:
        _, oid = resolve_commit(ctx.store, sha)
    except NotFound:
        raise Http404("No such commit") from None
    if not is_full_sha(sha):
        return HttpResponseRedirect(f"{ctx.base}/commit/{oid.hex()}")
    etag = etag_for(request, ctx, oid, "commit")
    if (response := not_modified(request, etag)):
        return response
    info = history.commit_info(ctx.store, oid)
    diff = cached(("diff", ctx.repo.store_id, oid), lambda: diffs.commit_diff(ctx.store, oid))
    view = _diff_view(request)
    context = {"info": info, "parents": list(info.parents), "diff": diff, "view": view,
               **_diff_context(ctx, diff, view, oid.hex(), ("commit-html", oid))}
    return render_page(request, ctx, "repos/commit", context, etag=etag, immutable=True)


def _diff_context(ctx, diff, view, ref, key):
    html = cached((*key, ctx.repo.store_id, view), lambda: diffview.diff_html(
        diff, view=view, blob_url=lambda path: ctx.url("blob", ref, path), split_rows=diffs.split_rows))
    return {"diff_html": html, "patch": lambda: diffs.patch_text(diff)}


@require_safe
@repo_page
def compare(request, ctx, spec):
    base_spec, sep, head_spec = spec.partition("...")
    if not sep or not base_spec or not head_spec:
        raise Http404("Compare two refs as BASE...HEAD")
    try:
        base_ref, base = resolve_commit(ctx.store, base_spec)
        head_ref, head = resolve_commit(ctx.store, head_spec)
    except NotFound as error:
        raise Http404(f"No such ref: {error}") from None
    etag = etag_for(request, ctx, base, head.hex())
    if (response := not_modified(request, etag)):
        return response
    merge_base = history.merge_base(ctx.store, base, head)
    context = {"base_spec": base_spec, "head_spec": head_spec, "base": base, "head": head,
               "merge_base": merge_base, "view": _diff_view(request),
               "can_open_pull": bool(base_ref and head_ref and base_ref.startswith("refs/heads/")
                                     and head_ref.startswith("refs/heads/") and base != head
                                     and not request.actor.is_anonymous)}
    if merge_base is not None:
        context["commits"] = history.commits_between(ctx.store, base, head, limit=250)
        context["ahead"], context["behind"] = history.ahead_behind(ctx.store, base, head)
        old_tree = ctx.store.graph.node(merge_base).tree
        new_tree = ctx.store.graph.node(head).tree
        diff = cached(("cmp", ctx.repo.store_id, merge_base, head),
                      lambda: diffs.diff_trees(ctx.store, old_tree, new_tree))
        context["diff"] = diff
        context.update(_diff_context(ctx, diff, context["view"], head.hex(), ("cmp-html", merge_base, head)))
    immutable = is_full_sha(base_spec) and is_full_sha(head_spec)
    return render_page(request, ctx, "repos/compare", context, etag=etag, immutable=immutable)
