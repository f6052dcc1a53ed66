"""Branches, tags and archives of any ref."""
import re

from django.http import Http404, StreamingHttpResponse
from django.views.decorators.http import require_safe

from repos import browsing
from repos.selectors import store_path
from repos.store import RepoStore, archive
from repos.store.browse import NotFound, resolve_commit
from repos.views.common import (
    cache_headers,
    etag_for,
    is_full_sha,
    not_modified,
    page_number,
    render_page,
    repo_page,
)

PER_PAGE = 50


def _refs_etag(request, ctx):
    # Any push changes the list: the validator is the set of refs itself.
    state = "".join(f"{name}={oid.hex()};" for name, oid, _ in ctx.store.refs())
    return etag_for(request, ctx, None, state)


@require_safe
@repo_page
def branches(request, ctx):
    etag = _refs_etag(request, ctx)
    if (response := not_modified(request, etag)):
        return response
    all_branches, _ = browsing.refs(ctx.store)
    default = browsing.default_ref(ctx.repo, ctx.store)
    page = page_number(request)
    rows, more = browsing.branch_details(ctx.repo, ctx.store, all_branches, default[0] if default else None,
                                         page=page, per_page=PER_PAGE)
    return render_page(request, ctx, "repos/branches", {
        "rows": rows, "page": page, "default_name": default[0] if default else None,
        "next_url": f"?page={page + 1}" if more else None, "prev_url": f"?page={page - 1}" if page > 1 else None,
    }, etag=etag)


@require_safe
@repo_page
def tags(request, ctx):
    etag = _refs_etag(request, ctx)
    if (response := not_modified(request, etag)):
        return response
    _, all_tags = browsing.refs(ctx.store)
    return render_page(request, ctx, "repos/tags", {"rows": browsing.tag_details(ctx.store, all_tags)}, etag=etag)


FORMATS = {".tar.gz": ("application/gzip", archive.tar_gz_stream), ".zip": ("application/zip", archive.zip_stream)}


@require_safe
@repo_page
def download(request, ctx, spec, fmt):
    try:
        ref, commit = resolve_commit(ctx.store, spec)
    except NotFound:
        raise Http404("No such ref") from None
    content_type, stream = FORMATS[fmt]
    etag = f'"{commit.hex()}{fmt}"'
    if (response := not_modified(request, etag)):
        return response
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", browsing.short_ref(ref) if ref else commit.hex()).strip("-") or "archive"
    prefix = f"{ctx.repo.name}-{label}"
    response = StreamingHttpResponse(_pooled(ctx, stream, commit, prefix + "/"), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{prefix}{fmt}"'
    return cache_headers(response, ctx, etag, immutable=is_full_sha(spec))


def _pooled(ctx, stream, commit, prefix):
    """The archive is written after the view returns: read it from a store of its own, since the
    borrowed one goes back to the pool when the view ends."""
    store = RepoStore.open(store_path(ctx.repo))
    try:
        yield from stream(store, commit, prefix)
    finally:
        store.close()
