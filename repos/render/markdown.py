"""GitHub-flavoured Markdown to safe HTML, for READMEs, Markdown files and (later) comments.

Safety comes from three places, each enough on its own for what it covers:
- raw HTML is never parsed (html=False): `<script>` in a README is text, shown escaped;
- every URL markdown-it would turn into a link or an image passes `is_safe_url`, an allowlist of
  schemes checked after entity decoding, percent decoding and removal of the characters browsers
  ignore inside a URL; a URL that fails leaves the Markdown as literal text;
- attributes and text are escaped by markdown-it's renderer, and the few pieces written here
  (headings' anchors, code blocks) escape their input too.

GitHub's extensions: tables, ~~strikethrough~~, task lists (disabled checkboxes), autolinks of bare
www./http(s):// URLs and e-mail addresses (the GFM autolink rules, which unlike linkify-it do not link
a bare "example.com"), alerts (> [!NOTE]), heading ids with GitHub's slugs and a '#' anchor link,
fenced code highlighted by pygments when the info string names a language it knows."""
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token
from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin

from .highlight import highlight_block

# Past this, a Markdown file is shown as escaped preformatted text instead of being rendered.
MAX_MARKDOWN_CHARS = 1_000_000

MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mdwn")
# find_readme's preference, best first (names compared case-insensitively).
README_NAMES = ("readme.md", "readme.markdown", "readme.mdown", "readme.mkd", "readme.mkdn",
                "readme.rst", "readme.txt", "readme")

# Schemes a link or image may use. Everything else that looks like a scheme (javascript:, vbscript:,
# data:, file:, and any we have not thought of) is refused: an allowlist cannot miss a new trick.
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "ftps", "xmpp", "irc", "ircs", "tel"})
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# Browsers drop tabs and newlines anywhere in a URL and trim control characters and spaces at its
# ends, so "jav\tascript:" is "javascript:" to them; we remove all of them before looking.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SAFE_LANGUAGE_CLASS = re.compile(r"[A-Za-z0-9_+#.\-]{1,40}")
_EXTERNAL_REL = "nofollow noopener"


@dataclass(frozen=True)
class LinkContext:
    """Where a rendered Markdown file lives, so its relative links and images can be resolved.

    The bases are URL paths, already quoted (a ref may contain '/'); `directory` is the Markdown
    file's directory inside the repository, unquoted, "" for the root."""
    blob_base: str      # "/alice/proj/blob/feature/x"
    raw_base: str       # "/alice/proj/raw/feature/x"
    tree_base: str      # "/alice/proj/tree/feature/x"
    directory: str = ""


def render_markdown(text: str, *, links: LinkContext | None = None) -> str:
    if len(text) > MAX_MARKDOWN_CHARS:
        return f"<pre>{escape(text)}</pre>\n"
    return _PARSER.render(text, {"links": links})


def is_safe_url(url: str) -> bool:
    """May `url` (as markdown-it hands it over: entities decoded, then percent-encoded) become a live
    link or image? Relative URLs and fragments yes; absolute ones only with a scheme in SAFE_SCHEMES.
    The percent-decoded form is checked too: stricter than browsers, never looser."""
    for candidate in (url, unquote(url)):
        match = _SCHEME.match(_URL_IGNORED.sub("", candidate).lower())
        if match and match.group(1) not in SAFE_SCHEMES:
            return False
    return True


def find_readme(names: list[str]) -> str | None:
    """The README to show for a directory listing, by README_NAMES' preference; among names that
    differ only in case, README.* before readme.* before any other spelling."""
    ranked = [(README_NAMES.index(name.lower()), _case_rank(name), name)
              for name in names if name.lower() in README_NAMES]
    return min(ranked)[2] if ranked else None


def is_markdown(path: str) -> bool:
    return path.lower().endswith(MARKDOWN_EXTENSIONS)


def github_slug(title: str) -> str:
    """GitHub's heading id: lowercase, drop everything but letters, digits, marks, '_', '-' and
    spaces, then spaces become '-' (so "A  B" gives "a--b", as on GitHub)."""
    kept = [ch for ch in title.lower()
            if ch in "-_ " or ch.isalnum() or unicodedata.category(ch)[0] == "M"]
    return "".join(kept).replace(" ", "-")


def _case_rank(name: str) -> int:
    stem = name.split(".", 1)[0]
    return 0 if stem == "README" else 1 if stem == "readme" else 2


# --- parser rules -----------------------------------------------------------------------------

def _heading_anchors(state) -> None:
    """Give each heading a unique GitHub slug as id and a leading '#' link to itself.

    Duplicates count up like GitHub's ("x", "x-1", "x-2"), but also skip a slug an earlier heading
    already took ("x", "x", "x-1" gives x, x-1, x-1-1; GitHub would repeat x-1)."""
    used: set[str] = set()
    counts: dict[str, int] = {}
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[index + 1]
        title = _plain_text(inline.children or [])
        base = github_slug(title)
        if not base:
            continue        # a heading of punctuation only: no id (GitHub would make an empty one)
        number = counts.get(base, 0)
        slug = base if number == 0 else f"{base}-{number}"
        while slug in used:
            number += 1
            slug = f"{base}-{number}"
        counts[base] = number + 1
        used.add(slug)
        token.attrSet("id", slug)

        anchor_open = Token("link_open", "a", 1)
        anchor_open.attrSet("class", "anchor")
        anchor_open.attrSet("href", f"#{slug}")
        anchor_open.attrSet("aria-label", f"Permalink: {title}")
        anchor_open.info = "heading-anchor"
        inline.children = [anchor_open, Token("text", "", 0, content="#"),
                           Token("link_close", "a", -1)] + (inline.children or [])


def _plain_text(children: list[Token]) -> str:
    # What the heading shows as text (an image's alt text is not part of it, as in the DOM).
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _rewrite_links(state) -> None:
    """Check every link and image again (defence in depth), mark external links, and resolve
    relative ones against the file's place in the repository when a LinkContext is given."""
    context = state.env.get("links") if isinstance(state.env, dict) else None
    for block in state.tokens:
        if block.type != "inline":
            continue
        for token in block.children or []:
            if token.type == "link_open" and token.info != "heading-anchor":
                _fix_url(token, "href", context, image=False)
            elif token.type == "image":
                _fix_url(token, "src", context, image=True)


def _fix_url(token: Token, attribute: str, context: LinkContext | None, *, image: bool) -> None:
    url = token.attrGet(attribute)
    if url is None:
        return
    url = str(url)
    if not is_safe_url(url):
        token.attrs.pop(attribute, None)        # an inert <a> or <img> rather than a live one
        return
    if _is_absolute(url):
        if not image:
            token.attrSet("rel", _EXTERNAL_REL)
        return
    if context is not None:
        token.attrSet(attribute, resolve_relative_url(url, context, image=image))


def _is_absolute(url: str) -> bool:
    return url.startswith("//") or bool(_SCHEME.match(url.lower()))


def resolve_relative_url(url: str, context: LinkContext, *, image: bool = False) -> str:
    """A repository-relative URL made into a Forge page URL: images -> raw, paths ending in '/' ->
    tree, other paths -> blob. '..' never climbs above the repository root; '/x' starts at the root.
    Fragments and queries are kept; a URL that is only a fragment or query is left alone."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    path, suffix = url[:cut], url[cut:]
    if not path:
        return url
    raw_path = unquote(path)
    start = [] if raw_path.startswith("/") else context.directory.split("/")
    resolved: list[str] = []
    for part in start + raw_path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        resolved.append(part)
    last = posixpath.basename(raw_path)
    is_directory = raw_path.endswith("/") or last in (".", "..")
    if not resolved:
        return context.tree_base.rstrip("/") + suffix
    base = context.raw_base if image else context.tree_base if is_directory else context.blob_base
    return f"{base.rstrip('/')}/{quote('/'.join(resolved), safe='/')}{suffix}"


def _render_fence(self, tokens, index, options, env) -> str:
    token = tokens[index]
    info = unescapeAll(token.info).strip() if token.info else ""
    language = info.split(maxsplit=1)[0] if info else ""
    css_class = (f' class="language-{escape(language)}"'
                 if _SAFE_LANGUAGE_CLASS.fullmatch(language) else "")
    highlighted = highlight_block(token.content, language) if language else None
    if highlighted is None:
        return f"<pre><code{css_class}>{escape(token.content)}</code></pre>\n"
    return f'<div class="highlight"><pre><code{css_class}>{highlighted}\n</code></pre></div>\n'


def _build_parser() -> MarkdownIt:
    # gfm-like2: CommonMark + tables, strikethrough, task lists (not editable), alerts.
    md = MarkdownIt("gfm-like2", {"html": False, "linkify": False, "typographer": False})
    md.disable("linkify")
    gfm_autolink_plugin(md)
    md.validateLink = is_safe_url
    md.core.ruler.push("forge_heading_anchors", _heading_anchors)
    md.core.ruler.push("forge_links", _rewrite_links)
    md.add_render_rule("fence", _render_fence)
    return md


# Built once; rendering keeps its state per call, so one parser serves every request and thread.
_PARSER = _build_parser()
