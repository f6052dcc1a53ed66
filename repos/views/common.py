"""What every repository page shares: the access check, a borrowed store, content negotiation
(HTML for people, Markdown for agents) and HTTP caching.

Caching follows cgit's rule. A URL that names a commit by its full id shows content that can
never change: it is cacheable for a year. A URL that names a branch or tag is revalidated
quickly, and its ETag is derived from the commit the ref points at, so a conditional request is
answered 304 before anything is read or rendered.
"""
import functools
import hashlib
from urllib.parse import quote

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

from accounts.access import READ, AccessError, access_repo
from repos.selectors import store_path
from repos.store.browse import NotFound
from repos.store.pool import StorePool

STORES = StorePool()
# Bump when page markup changes, so browsers holding "immutable" pages fetch the new markup.
PAGE_VERSION = "3.1"
IMMUTABLE_SECONDS = 365 * 24 * 3600
REF_SECONDS = 30
# What a page depends on besides its URL: the format asked for and who is asking.
VARY = ("Accept", "Cookie", "Authorization")


class RepoContext:
    """The repository a request is about, with the store borrowed for the request."""

    def __init__(self, request, repo, store):
        self.request = request
        self.repo = repo
        self.store = store
        self.base = "/" + quote(repo.full_name)

    def url(self, kind, ref="", path=""):
        """/OWNER/NAME/KIND/REF/PATH with each part quoted; refs and paths keep their '/'."""
        parts = [self.base, kind]
        if ref:
            parts.append(quote(ref, safe="/"))
        if path:
            parts.append(quote(path, safe="/"))
        return "/".join(parts)


def repo_page(view):
    """Wraps view(request, ctx: RepoContext, **kwargs). Anyone who may not read the repository
    gets the same 404 as for a repository that does not exist, signed in or not, on every page."""

    @functools.wraps(view)
    def wrapper(request, owner, name, **kwargs):
        try:
            repo = access_repo(request.actor, owner, name, READ)
        except AccessError:
            raise Http404("No such repository") from None
        with STORES.borrow(store_path(repo)) as store:
            try:
                return view(request, RepoContext(request, repo, store), **kwargs)
            except NotFound as error:
                raise Http404(f"Not found: {error}") from None

    return wrapper


def wants_markdown(request):
    """Agents ask for Markdown with `?format=md` or by preferring text/markdown in Accept."""
    if request.GET.get("format") == "md":
        return True
    accept = request.headers.get("Accept", "")
    if "text/markdown" not in accept:
        return False
    # The first media type listed wins unless q-values say otherwise; browsers never list markdown.
    best, best_q = None, -1.0
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = fields[0], q
    return best == "text/markdown"


def is_full_sha(text):
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


def etag_for(request, ctx, commit, *extra):
    """A strong validator for a page derived from `commit` (and `extra`): the same for everyone
    who sees the same markup."""
    h = hashlib.sha1()
    for part in (PAGE_VERSION, ctx.repo.store_id, ctx.repo.full_name, commit.hex() if commit else "-",
                 request.get_full_path(), "md" if wants_markdown(request) else "html",
                 request.actor.name or "", *map(str, extra)):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return f'"{h.hexdigest()}"'


def not_modified(request, etag):
    """A 304 when the client already holds `etag`, else None."""
    given = request.headers.get("If-None-Match")
    if given and (etag in parse_etags(given) or given.strip() == "*"):
        return HttpResponseNotModified(headers={"ETag": etag})
    return None


def cache_headers(response, ctx, etag=None, immutable=False):
    audience = "public" if not ctx.repo.is_private and ctx.request.actor.is_anonymous else "private"
    if etag:
        response["ETag"] = etag
    if immutable:
        response["Cache-Control"] = f"{audience}, max-age={IMMUTABLE_SECONDS}, immutable"
    else:
        response["Cache-Control"] = f"{audience}, max-age={REF_SECONDS}"
    patch_vary_headers(response, VARY)
    return response


def negotiated(request, template, context, status=200):
    """templates/TEMPLATE.html, or TEMPLATE.md for agents."""
    if wants_markdown(request):
        body = render_to_string(f"{template}.md", context, request)
        response = HttpResponse(body, content_type="text/markdown; charset=utf-8", status=status)
    else:
        response = HttpResponse(render_to_string(f"{template}.html", context, request), status=status)
    patch_vary_headers(response, VARY)
    return response


def render_page(request, ctx, template, context, *, etag=None, immutable=False, status=200):
    """A repository page (negotiated) with the repository's caching headers."""
    response = negotiated(request, template, {"ctx": ctx, "repo": ctx.repo, **context}, status)
    return cache_headers(response, ctx, etag, immutable)


def page_number(request, maximum=100000):
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), maximum)


__all__ = ["STORES", "RepoContext", "repo_page", "wants_markdown", "is_full_sha", "etag_for", "not_modified",
           "cache_headers", "negotiated", "render_page", "page_number"]
