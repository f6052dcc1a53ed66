"""What every repository page shares: the access check, a borrowed store, content negotiation
(HTML for people, Markdown for agents) and HTTP caching.

Caching follows cgit's rule. A URL that names a commit by its full id shows content that can
never change: it is cacheable for a year. A URL that names a branch or tag is revalidated
on every view, and its ETag is derived from the commit the ref points at, so a conditional request is
answered 304 before anything is read or rendered.
"""
import functools
import hashlib
from urllib.parse import quote

from django.http import Http404, HttpResponse, HttpResponseNotModified, HttpResponsePermanentRedirect
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

from accounts.access import ADMIN_ACCESS, READ, AccessError, access_repo, allowed_needs, strip_git_suffix
from repos.selectors import store_path
from repos.store.browse import NotFound
from repos.store.pool import StorePool

STORES = StorePool()
# Bump when page markup changes, so browsers holding "immutable" pages fetch the new markup.
PAGE_VERSION = "3.1"
IMMUTABLE_SECONDS = 365 * 24 * 3600
# Pages addressed by a branch or tag are revalidated on every view: someone who pushes and
# reloads must see the push at once, and a revalidation is a 304 answered before anything is read.
REF_CACHE_CONTROL = "no-cache"
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
    gets the same 404 as for a repository that does not exist, signed in or not, on every page.
    A page asked for under a repository's old name answers 301 to the same page under its name now.
    `ctx.may_admin()` says whether the actor may change the repository's settings."""

    @functools.wraps(view)
    def wrapper(request, owner, name, **kwargs):
        repo, moved = page_repository(request, owner, name, READ)
        if moved is not None:
            return moved
        with STORES.borrow(store_path(repo)) as store:
            ctx = RepoContext(request, repo, store)
            ctx.may_admin = functools.cache(lambda: ADMIN_ACCESS in allowed_needs(request.actor, repo))
            try:
                return view(request, ctx, **kwargs)
            except NotFound as error:
                raise Http404(f"Not found: {error}") from None

    return wrapper


def page_repository(request, owner, name, need):
    """(repository, None) when the actor may `need` OWNER/NAME; (repository, a redirect) when
    OWNER/NAME is an old name of it; Http404 when the actor may not, as if it did not exist."""
    try:
        repo = access_repo(request.actor, owner, name, need)
    except AccessError:
        raise Http404("No such repository") from None
    if is_old_name(repo, owner, name):
        return repo, redirect_to_current_name(request, repo)
    return repo, None


# Browsers keep a 301 until told otherwise; an old name may be taken by a new repository later.
RENAMED_REDIRECT_SECONDS = 3600
# What a path segment may hold unquoted (RFC 3986 pchar), so a redirected path is quoted as it came.
PATH_SAFE = "/:@!$&'()*+,;="


def is_old_name(repo, owner, name):
    """Whether OWNER/NAME reached `repo` through a redirect (a difference in letter case is not one)."""
    return f"{owner}/{strip_git_suffix(name)}".lower() != repo.full_name.lower()


def redirect_to_current_name(request, repo):
    """301 (308 for anything but GET and HEAD, which must keep its method and body) to the same
    path and query with OWNER/NAME replaced by the repository's name now."""
    _, _owner, _name, *rest = request.path_info.split("/", 3)
    path = "/" + "/".join([repo.owner.username, repo.name, *rest])
    prefix = request.path[: len(request.path) - len(request.path_info)]
    url = quote(prefix + path, safe=PATH_SAFE)
    if request.META.get("QUERY_STRING"):
        url += "?" + request.META["QUERY_STRING"]
    if request.method in ("GET", "HEAD"):
        response = HttpResponsePermanentRedirect(url)
    else:
        response = HttpResponsePermanentRedirect(url, status=308)
    response["Cache-Control"] = f"private, max-age={RENAMED_REDIRECT_SECONDS}"
    patch_vary_headers(response, VARY)
    return response


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
        response["Cache-Control"] = f"{audience}, {REF_CACHE_CONTROL}"
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


__all__ = ["STORES", "RepoContext", "repo_page", "page_repository", "wants_markdown", "is_full_sha", "etag_for", "not_modified",
           "cache_headers", "negotiated", "render_page", "page_number"]
