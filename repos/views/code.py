"""Code pages: repository home, tree, blob, raw, blame."""
from html import escape
from urllib.parse import quote

from django.http import HttpResponse, HttpResponseRedirect
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from repos import browsing
from repos.fragments import cached
from repos.render import codeview
from repos.render.filetypes import image_type, is_binary, raw_content_type
from repos.render.highlight import highlight_lines, lexer_name
from repos.render.markdown import LinkContext, find_readme, is_markdown, render_markdown
from repos.store import blame as blame_store
from repos.store import history
from repos.store.browse import NotFound, path_kind, read_blob, resolve
from repos.views.common import (
    cache_headers,
    etag_for,
    is_full_sha,
    not_modified,
    render_page,
    repo_page,
)
from repos.views.timefmt import age

MAX_SHOWN_BYTES = 1 << 20       # bigger files get a link to raw instead of a page of text
RECENT_COMMITS = 5


class Located:
    """A URL's REF/PATH, resolved: what the page is about and how to link back to it."""

    def __init__(self, ctx, spec):
        resolved = resolve(ctx.store, spec)
        self.ctx = ctx
        self.commit = resolved.commit
        self.path = resolved.path
        self.full_ref = resolved.ref
        self.ref = browsing.short_ref(resolved.ref) if resolved.ref else resolved.commit.hex()
        # A full commit id in the URL: the page can never change.
        self.immutable = resolved.ref is None and is_full_sha(spec.split("/", 1)[0])

    @property
    def label(self):
        return self.ref if self.full_ref else self.ref[:7]

    def url(self, kind, path=None):
        return self.ctx.url(kind, self.ref, self.path if path is None else path)

    @property
    def tree_base(self):
        return self.ctx.url("tree", self.ref)

    @property
    def blob_base(self):
        return self.ctx.url("blob", self.ref)

    @property
    def parent_url(self):
        return self.url("tree", self.path.rpartition("/")[0])

    def links(self, directory):
        """How Markdown in `directory` at this ref resolves relative links and images."""
        return LinkContext(blob_base=self.blob_base, raw_base=self.ctx.url("raw", self.ref),
                           tree_base=self.tree_base, directory=directory)

    @property
    def crumbs(self):
        """[(name, tree url)] from the root to the current path."""
        out = [(self.ctx.repo.name, self.url("tree", ""))]
        parts = [p for p in self.path.split("/") if p]
        for i, part in enumerate(parts):
            out.append((part, self.url("tree", "/".join(parts[: i + 1]))))
        return out


def _readme(ctx, here, rows):
    names = [row.entry.name for row in rows if not row.entry.is_tree]
    chosen = find_readme(names)
    if chosen is None:
        return None
    entry = next(row.entry for row in rows if row.entry.name == chosen)
    if (entry.size or 0) > MAX_SHOWN_BYTES:
        return None
    path = f"{here.path}/{chosen}" if here.path else chosen
    links = here.links(here.path)

    def build():
        _, data = read_blob(ctx.store, here.commit, path)
        text = data.decode("utf-8", "replace")
        if is_markdown(chosen):
            return render_markdown(text, links=links)
        return f'<pre class="plain">{escape(text)}</pre>'
    return {"name": chosen, "path": path, "html": cached(("readme", entry.oid, links), build),
            "source": lambda: read_blob(ctx.store, here.commit, path)[1].decode("utf-8", "replace")}


@require_safe
@repo_page
def repo_home(request, ctx):
    default = browsing.default_ref(ctx.repo, ctx.store)
    if default is None:
        return render_page(request, ctx, "repos/empty", {"clone_url": request.build_absolute_uri(ctx.base + ".git")})
    return _tree_page(request, ctx, Located(ctx, default[0]), home=True)


@require_safe
@repo_page
def tree(request, ctx, spec):
    here = Located(ctx, spec)
    if here.path and _kind(ctx, here) != "tree":
        return HttpResponseRedirect(here.url("blob"))
    return _tree_page(request, ctx, here, home=False)


def _kind(ctx, here):
    return path_kind(ctx.store, here.commit, here.path)


def _tree_page(request, ctx, here, *, home):
    etag = etag_for(request, ctx, here.commit, "home" if home else "tree")
    if (response := not_modified(request, etag)):
        return response
    rows = browsing.tree_rows(ctx.repo, ctx.store, here.commit, here.path)
    context = {
        "here": here, "rows": rows, "readme": _readme(ctx, here, rows), "home": home,
        "head": history.commit_info(ctx.store, here.commit), **browsing.switcher(ctx.repo, ctx.store),
    }
    if home:
        context.update(
            clone_url=request.build_absolute_uri(ctx.base + ".git"),
            recent=history.log_page(ctx.store, here.commit, per_page=RECENT_COMMITS).commits,
            counts=browsing.counts(ctx.repo, ctx.store, here.commit),
            languages=browsing.languages(ctx.repo, ctx.store, here.commit),
        )
    return render_page(request, ctx, "repos/home" if home else "repos/tree", context, etag=etag,
                       immutable=here.immutable)


def _highlighted(entry, text):
    return cached(("hl", entry.oid, entry.name), lambda: highlight_lines(text, entry.name))


@require_safe
@repo_page
def blob(request, ctx, spec):
    here = Located(ctx, spec)
    etag = etag_for(request, ctx, here.commit, "blob")
    if (response := not_modified(request, etag)):
        return response
    try:
        entry, data = read_blob(ctx.store, here.commit, here.path)
    except NotFound:
        if here.path and _kind(ctx, here) == "tree":
            return HttpResponseRedirect(here.url("tree"))
        raise
    context = {"here": here, "entry": entry, "raw_url": here.url("raw"), "symlink": None, "rendered": None,
               "lines": None, **browsing.switcher(ctx.repo, ctx.store)}
    show_plain = request.GET.get("plain") == "1"
    if entry.kind == "symlink":
        context["symlink"] = data.decode("utf-8", "replace")
    elif image_type(entry.name, data):
        context["image"] = True
    elif is_binary(data):
        context["binary"] = True
    elif len(data) > MAX_SHOWN_BYTES:
        context["too_large"] = True
    else:
        text = data.decode("utf-8", "replace")
        context["text"] = text
        context["lines"] = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        context["language"] = lexer_name(entry.name)
        if is_markdown(entry.name) and not show_plain:
            links = here.links(here.path.rpartition("/")[0])
            context["rendered"] = cached(("md", entry.oid, links), lambda: render_markdown(text, links=links))
        else:
            context["code"] = codeview.code_table(_highlighted(entry, text))
        context["markdown_file"] = is_markdown(entry.name)
        context["show_plain"] = show_plain
    return render_page(request, ctx, "repos/blob", context, etag=etag, immutable=here.immutable)


@require_safe
@repo_page
def raw(request, ctx, spec):
    here = Located(ctx, spec)
    entry, data = read_blob(ctx.store, here.commit, here.path)
    etag = f'"{entry.oid.hex()}"'
    if (response := not_modified(request, etag)):
        return response
    content_type = raw_content_type(entry.name, data)
    response = HttpResponse(data, content_type=content_type)
    # The bytes are whatever someone pushed: never let a browser run or sniff them as a page.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    if content_type == "application/octet-stream":
        response["Content-Disposition"] = _attachment(entry.name)
    response["Last-Modified"] = http_date(history.commit_info(ctx.store, here.commit).committer_time)
    return cache_headers(response, ctx, etag, immutable=here.immutable)


def _attachment(name):
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@require_safe
@repo_page
def blame(request, ctx, spec):
    here = Located(ctx, spec)
    etag = etag_for(request, ctx, here.commit, "blame")
    if (response := not_modified(request, etag)):
        return response
    context = {"here": here, **browsing.switcher(ctx.repo, ctx.store)}
    try:
        result = cached(("blame", ctx.repo.store_id, here.commit, here.path),
                        lambda: blame_store.blame(ctx.store, here.commit, here.path))
    except blame_store.BlameTooLarge as error:
        context["refusal"] = str(error)
    else:
        infos = {c.oid: c for c in history.commit_infos(ctx.store, list({r.commit for r in result.ranges}))}
        entry, data = read_blob(ctx.store, here.commit, here.path)
        lines_html = _highlighted(entry, data.decode("utf-8", "replace"))
        ranges = _merged_ranges(result.ranges)
        groups = []
        for r in ranges:
            parent = cached(("blame-parent", ctx.repo.store_id, r.commit, r.orig_path),
                            lambda r=r: blame_store.blame_parent(ctx.store, r))
            groups.append((r.start, r.count, _blame_head(ctx, infos[r.commit], parent)))
        context["table"] = codeview.blame_table(groups, lines_html)
        context["groups"] = [(r, infos[r.commit]) for r in ranges]
        context["lines"] = result.lines
    return render_page(request, ctx, "repos/blame", context, etag=etag, immutable=here.immutable)


def _merged_ranges(ranges):
    """Adjacent ranges of one commit shown as one group (their original lines need not be contiguous)."""
    merged = []
    for r in ranges:
        if merged and merged[-1].commit == r.commit and merged[-1].start + merged[-1].count == r.start:
            last = merged[-1]
            merged[-1] = type(r)(last.commit, last.orig_path, last.orig_start, last.start, last.count + r.count)
        else:
            merged.append(r)
    return merged


def _blame_head(ctx, info, parent):
    commit_url = f"{ctx.base}/commit/{info.hex}"
    summary = escape(info.summary[:80])
    author = escape(info.author_name)
    parts = [f'<a class="sha" href="{commit_url}">{info.short}</a> <span class="who">{author}</span> '
             f'<time datetime="{info.author_time}">{escape(age(info.author_time))}</time>'
             f'<a class="msg" href="{commit_url}" title="{escape(info.message[:500])}">{summary}</a>']
    if parent:
        parent_commit, parent_path = parent
        parts.append(f'<a class="up" href="{ctx.url("blame", parent_commit.hex(), parent_path)}" '
                     f'title="Blame at the parent">↑</a>')
    return "".join(parts)
