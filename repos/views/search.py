"""/OWNER/NAME/search?q=Q: code and commit search, as HTML, Markdown (agents) or JSON
(`Accept: application/json`). `?suggest=1` answers the header box's htmx suggestions: a short list.

Who may search is who may read (repo_page): a private repository's content is a 404 to others in
every format. The index reflects the default branch's tip; it is caught up first if a push
outran it (repos.search)."""
from urllib.parse import quote, urlencode

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_safe

from repos import search as searching
from repos.store import search as index
from repos.views.common import VARY, negotiated, page_number, repo_page

PER_PAGE = 20
SUGGESTIONS = 6


def _wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.GET.get("format") == "json" or accept.split(",")[0].strip().startswith("application/json")


# A minified file's one line can be megabytes: show a window around the first match.
MAX_SHOWN = 400


def _marked(text, spans):
    """[(piece, is_match)] of a line, for templates to wrap the matches in <mark> (escaped)."""
    if len(text) > MAX_SHOWN:
        start = max(0, (min(spans)[0] if spans else 0) - MAX_SHOWN // 4)
        end = start + MAX_SHOWN
        spans = [(max(a, start) - start + 1, min(b, end) - start + 1) for a, b in spans if a < end and b > start]
        text = "…" + text[start:end] + "…"
    pieces, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            continue
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def _blob_url(ctx, path, number=None):
    ref = quote(ctx.repo.default_branch, safe="/")
    return f"{ctx.base}/blob/{ref}/{quote(path, safe='/')}" + (f"#L{number}" if number else "")


@require_safe
@repo_page
def search(request, ctx):
    text = request.GET.get("q", "").strip()
    page = page_number(request, maximum=1000)
    query = index.parse_query(text) if text else None
    suggest = request.GET.get("suggest") == "1"
    per_page = SUGGESTIONS if suggest else PER_PAGE
    code = commits = None
    if query is not None:
        searching.bring_up_to_date(ctx.repo, ctx.store)
        if query.kind == "commits":
            commits = index.search_commits(ctx.store, query, page=page, per_page=per_page)
        else:
            code = index.search_code(ctx.store, query, page=page, per_page=per_page)
    blob_url = lambda path, number=None: _blob_url(ctx, path, number)  # noqa: E731
    if _wants_json(request):
        response = JsonResponse(_json(ctx, text, query, page, per_page, code, commits))
    elif suggest:
        response = render(request, "repos/_search_suggestions.html", {"ctx": ctx, "q": text, "code": code,
                                                                       "commits": commits, "blob_url": blob_url})
    else:
        total = (code.total_files if code else commits.total if commits else 0)
        link = lambda n: f"{ctx.base}/search?{urlencode({'q': text, 'page': n})}"  # noqa: E731
        response = negotiated(request, "repos/search", {
            "ctx": ctx, "repo": ctx.repo, "tab": "search", "q": text, "query": query, "code": code,
            "commits": commits, "page": page, "marked": _marked, "blob_url": blob_url,
            "prev_url": link(page - 1) if page > 1 else None,
            "next_url": link(page + 1) if page * per_page < total else None,
        })
    add_never_cache_headers(response)
    patch_vary_headers(response, VARY + ("HX-Request",))
    return response


def _json(ctx, text, query, page, per_page, code, commits):
    data = {"query": text, "kind": query.kind if query else None, "page": page, "per_page": per_page,
            "ref": ctx.repo.default_branch}
    if code is not None:
        data.update(total_files=code.total_files, total_lines=code.total_lines, skipped=code.skipped_note, files=[
            {"path": hit.path, "url": _blob_url(ctx, hit.path), "more_lines": hit.more_lines,
             "lines": [{"number": line.number, "text": line.text, "spans": [list(s) for s in line.spans],
                        "url": _blob_url(ctx, hit.path, line.number)} for line in hit.lines]}
            for hit in code.files])
    if commits is not None:
        data.update(total=commits.total, commits=[
            {"sha": hit.oid.hex(), "summary": hit.summary, "author": {"name": hit.author_name, "email": hit.author_email},
             "time": hit.time, "excerpt": hit.excerpt, "spans": [list(s) for s in hit.spans],
             "url": f"{ctx.base}/commit/{hit.oid.hex()}"} for hit in commits.hits])
    return data


