"""Fuzzing Markdown rendering (repos/render/markdown.py) with any text and hostile HTML/JS mixed in.

The output is parsed with html.parser (as a browser tokenizes it, not with a regex on the string):
only the tags and attributes the renderer means to write appear, no `on*` attribute, no <script> or
other active element, and every href/src is relative or uses a safe scheme once entities are decoded
and the characters browsers ignore are removed. Rendering never raises. Relative links resolved
against a file's place never climb out of the repository's pages."""
import re
from html.parser import HTMLParser
from urllib.parse import unquote

from hypothesis import example, given
from hypothesis import strategies as st

from repos.render.markdown import SAFE_SCHEMES, LinkContext, render_markdown, resolve_relative_url
from tests.fuzz.fuzzing import count, fuzz_settings, no_hang

# What markdown-it (CommonMark + GFM tables, strikethrough, task lists, alerts, autolinks), our heading
# anchors and pygments' highlighting write. Anything else in the output is a finding.
TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "a", "img", "ul", "ol", "li", "input", "div", "pre", "code",
        "span", "table", "thead", "tbody", "tr", "th", "td", "s", "em", "strong", "blockquote", "hr", "br"}
ATTRIBUTES = {"id", "class", "href", "src", "alt", "title", "rel", "aria-label", "disabled", "type", "checked",
              "start", "style"}
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_ALIGN = re.compile(r"text-align:(left|right|center)")

HOSTILE = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "<a href=\"javascript:x\">",
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](java\tscript:alert(1))", "[x](&#106;avascript:x)",
    "[x](jav&#x09;ascript:x)", "[x](%6Aavascript:x)", "[x](<javascript:alert(1)>)", "<javascript:alert(1)>",
    "![i](data:text/html;base64,PHNjcmlwdD4=)", "![i](vbscript:msgbox)", "[x](file:///etc/passwd)", "[x][r]",
    "[r]: javascript:alert(1)", "[r]: <data:text/html,x>", "[x](\x00javascript:x)", "[x]( javascript:x)",
    "[x](javascript&colon;x)", "[x](javascript&#58;x)", "[x](javascript&#0000058x)", "[x](//evil.example/x)",
    "[x](http://ok.example/?q=\"onmouseover=x)", "<iframe src=x>", "<style>*{}</style>", "\" onclick=\"x",
    "' onfocus='x", "`<b>`", "```html onload=x\n<script>\n```", "```\"><script>\n", "~~~js\"\n", "> [!NOTE]\n>",
    "| a | b |\n|:-|-:|\n| <x> | y |", "- [x] <b>", "# <h1 onclick=x>", "www.example.com/<script>", "x@y.org",
    "https://a.b/\"onmouseover=\"x", "&lt;script&gt;", "&#x3C;script&#x3E;", "<!-- x -->", "<![CDATA[x]]>",
    "\\<script>", "[x](#\"onclick=x)", "![x](\"onerror=x)", "[x](a.md \"t\" onclick=x)", "[x]: <>", "\n\n",
    "    indented <script>", "*", "_", "[", "]", "(", ")", "!", "<", ">", "&", "\"", "'", "`", "\n", " ", "\t",
]
markdown_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), max_size=14).map("".join),
)
contexts = st.one_of(st.none(), st.builds(
    LinkContext, st.just("/o/n/blob/feature/x"), st.just("/o/n/raw/feature/x"), st.just("/o/n/tree/feature/x"),
    st.sampled_from(["", "docs", "a/b", "..", "docs/../.."])))


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.other = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self.other.append(("comment", data))

    def handle_decl(self, decl):
        self.other.append(("declaration", decl))

    def handle_pi(self, data):
        self.other.append(("processing instruction", data))

    def unknown_decl(self, data):
        self.other.append(("declaration", data))


def unsafe_url(value):
    """Why a decoded href/src value would run or load something unsafe; None if it would not."""
    for candidate in (value, unquote(value)):
        match = _SCHEME.match(_IGNORED.sub("", candidate))
        if match and match.group(1).lower() not in SAFE_SCHEMES:
            return f"scheme {match.group(1)!r}"
    return None


def check_html(html):
    parser = Collector()
    parser.feed(html)
    parser.close()
    assert not parser.other, parser.other
    for tag, attrs in parser.tags:
        assert tag in TAGS, f"unexpected <{tag}> in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            assert name in ATTRIBUTES, f"unexpected attribute {name}={value!r} on <{tag}>"
            if name in ("href", "src"):
                assert value is not None and unsafe_url(value) is None, f"<{tag} {name}={value!r}>: {unsafe_url(value)}"
            if name == "style":
                assert _ALIGN.fullmatch(value or ""), f"style {value!r} on <{tag}>"
        if tag == "input":
            assert dict(attrs).get("type") == "checkbox" and "disabled" in dict(attrs), attrs


@fuzz_settings()
@given(text=markdown_text, context=contexts)
@example(text="[x](&#106;avascript:alert(1))", context=None)
@example(text="[r]\n\n[r]: javascript:alert(1)", context=None)
@example(text="<javascript:alert(1)>", context=None)
@example(text="```\"><script>\nx\n```", context=None)
@example(text="| a |\n|:-:|\n| <x onclick=1> |", context=None)
def test_rendered_markdown_holds_nothing_executable(text, context):
    count("markdown: render, nothing executable")
    with no_hang("rendering Markdown"):
        html = render_markdown(text, links=context)
    assert isinstance(html, str)
    check_html(html)


_url_piece = st.sampled_from(["..", ".", "/", "//", "%2e%2e", "%2F", "a", "b.md", "?", "#", "x y", "é", "\\", "%"])


@fuzz_settings()
@given(url=st.one_of(st.lists(_url_piece, min_size=1, max_size=10).map("".join), st.text(min_size=1, max_size=30)),
       directory=st.sampled_from(["", "docs", "a/b/c"]), image=st.booleans())
def test_relative_links_never_climb_out_of_the_repository(url, directory, image):
    count("markdown: relative links stay in the repository")
    context = LinkContext("/o/n/blob/main", "/o/n/raw/main", "/o/n/tree/main", directory)
    if url[0] in "?#" or _SCHEME.match(url) or url.startswith("//"):
        return
    resolved = resolve_relative_url(url, context, image=image)
    path = resolved.split("?")[0].split("#")[0]
    assert path.startswith(("/o/n/blob/main", "/o/n/raw/main", "/o/n/tree/main")), resolved
    assert ".." not in unquote(path).split("/"), resolved
