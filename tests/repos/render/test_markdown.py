"""Markdown rendering: hostile input first (raw HTML escaped, no script-capable URL ever live, in any
spelling), then GitHub's extensions one by one, then relative links resolved against the file's
place in the repository (refs containing '/'), README choice."""
import re
from html.parser import HTMLParser

import pytest

from repos.render.markdown import (MAX_MARKDOWN_CHARS, LinkContext, find_readme, github_slug,
                                   is_markdown, is_safe_url, render_markdown)

CTX = LinkContext(blob_base="/alice/proj/blob/feature/x", raw_base="/alice/proj/raw/feature/x",
                  tree_base="/alice/proj/tree/feature/x", directory="docs/guide")
ROOT_CTX = LinkContext(blob_base="/alice/proj/blob/main", raw_base="/alice/proj/raw/main",
                       tree_base="/alice/proj/tree/main", directory="")

ALLOWED_TAGS = {"p", "a", "img", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "s", "code", "pre",
                "div", "span", "ul", "ol", "li", "input", "blockquote", "table", "thead", "tbody", "tr",
                "th", "td", "hr", "br"}


class Elements(HTMLParser):
    """The elements a browser would build, with attribute values entity-decoded as it sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html):
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_inert(html):
    """Structurally harmless: known tags only, no event handlers, no URL a browser would run."""
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            if name in ("href", "src"):
                squeezed = re.sub(r"[\x00-\x20\x7f]", "", value or "").lower()
                assert not re.match(r"(javascript|vbscript|data|file):", squeezed), (value, html)
    assert "<script" not in html.lower()


def links(html):
    return [attrs for tag, attrs in elements(html) if tag == "a" and attrs.get("class") != "anchor"]


# --- hostile input -------------------------------------------------------------------------------

def test_raw_html_is_escaped_never_passed_through():
    html = render_markdown("<script>alert(1)</script>\n\ntext <img src=x onerror=alert(1)> more\n\n"
                           "<div onclick=alert(1)>block</div>\n")
    assert_inert(html)
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in html
    assert "<p>text &lt;img src=x onerror=alert(1)&gt; more</p>" in html
    assert "&lt;div onclick=alert(1)&gt;block&lt;/div&gt;" in html
    assert [tag for tag, _ in elements(html)] == ["p", "p", "p"]


@pytest.mark.parametrize("source", [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",          # a tab, entity-encoded: browsers drop tabs in URLs
    "[x](jav&#9;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",           # decimal entity for 'j'
    "[x](&#x6A;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",          # named entity for ':'
    "[x](%6Aavascript:alert(1))",              # percent-encoded 'j'
    "[x](javascript%3Aalert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x](<javascript:alert(1)>)",
    "[x](<java\tscript:alert(1)>)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "[x][ref]\n\n[ref]: <jav&#x0A;ascript:alert(1)>",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
])
def test_script_urls_never_become_links(source):
    html = render_markdown(source)
    assert_inert(html)
    assert links(html) == [], html
    assert 'href="' not in html


@pytest.mark.parametrize("source", [
    "![x](javascript:alert(1))",
    "![x](JAVASCRIPT:alert(1))",
    "![x](jav&#x09;ascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zy8+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",  # every data: URL is refused, images included
    "![x][img]\n\n[img]: vbscript:x",
])
def test_script_urls_never_become_images(source):
    html = render_markdown(source)
    assert_inert(html)
    assert "<img" not in html


def test_refused_links_stay_visible_as_escaped_text():
    assert render_markdown("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>\n"
    assert render_markdown("<javascript:alert(1)>") == "<p>&lt;javascript:alert(1)&gt;</p>\n"
    assert render_markdown("[x](<javascript:alert(1)>)") == "<p>[x](&lt;javascript:alert(1)&gt;)</p>\n"


def test_html_in_titles_alt_text_and_link_text_is_escaped():
    html = render_markdown('[<b>x</b>](https://a.example "<script>alert(1)</script>") '
                           '![<img src=x onerror=alert(1)>](https://a.example/i.png "t\\"onload=x")')
    assert_inert(html)
    assert ('<a href="https://a.example" title="&lt;script&gt;alert(1)&lt;/script&gt;" '
            'rel="nofollow noopener">&lt;b&gt;x&lt;/b&gt;</a>') in html
    assert 'alt="&lt;img src=x onerror=alert(1)&gt;"' in html
    assert 'title="t&quot;onload=x"' in html


def test_quotes_cannot_break_out_of_attributes():
    html = render_markdown('[x](https://a.example" onclick="alert(1)) www.example.com/"onmouseover=alert(1)')
    assert_inert(html)
    assert 'href="http://www.example.com/%22onmouseover=alert(1)"' in html


def test_code_fence_info_strings_with_html():
    html = render_markdown("```<script>alert(1)</script>\n<b>code</b>\n```\n\n"
                           '~~~ js" onmouseover="alert(1)\nlet a = 1;\n~~~\n')
    assert_inert(html)
    assert "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>" in html
    assert "<pre><code>let a = 1;\n</code></pre>" in html
    assert "onmouseover" not in html and "alert" not in html


def test_heading_made_of_html():
    html = render_markdown("# <img src=x onerror=alert(1)>\n")
    assert_inert(html)
    assert html == ('<h1 id="img-srcx-onerroralert1"><a class="anchor" href="#img-srcx-onerroralert1" '
                    'aria-label="Permalink: &lt;img src=x onerror=alert(1)&gt;">#</a>'
                    '&lt;img src=x onerror=alert(1)&gt;</h1>\n')


def test_entities_in_text_stay_text():
    html = render_markdown("&lt;script&gt;alert(1)&lt;/script&gt; &#60;b&#62;")
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;</p>\n"


def test_url_check_directly():
    for url in ("https://x.org", "http://x", "mailto:a@b.c", "docs/a.md", "/abs", "#f", "?q=1", "//cdn.x/y",
                "xmpp:a@b.c", "a%20b.md"):
        assert is_safe_url(url), url
    for url in ("javascript:x", " javascript:x", "\x01javascript:x", "java\nscript:x", "JAVA%09SCRIPT:x",
                "%6aavascript:x", "vbscript:x", "data:image/png;base64,x", "file:///etc", "livescript:x",
                "blob:https://x/y", "jar:x"):
        assert not is_safe_url(url), url


# --- GitHub's extensions -----------------------------------------------------------------------------

def test_table():
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |\n")
    assert "<table>" in html and "<th" in html
    assert '<td style="text-align:left">1</td>' in html and '<td style="text-align:right">2</td>' in html


def test_task_lists_have_disabled_checkboxes():
    html = render_markdown("- [ ] todo\n- [x] done\n- plain\n")
    assert '<input class="task-list-item-checkbox" disabled="" type="checkbox"> todo' in html
    assert '<input class="task-list-item-checkbox" disabled="" type="checkbox" checked=""> done' in html
    assert "<li>plain</li>" in html
    for tag, attrs in elements(html):
        if tag == "input":
            assert "disabled" in attrs


def test_strikethrough():
    assert render_markdown("~~gone~~ and ~also~") == "<p><s>gone</s> and <s>also</s></p>\n"


def test_bare_urls_and_emails_are_linked_like_github():
    html = render_markdown("See https://example.com/a?b=1. or www.example.org, mail me@example.com; "
                           "but example.com alone is text.")
    assert '<a href="https://example.com/a?b=1" rel="nofollow noopener">https://example.com/a?b=1</a>.' in html
    assert '<a href="http://www.example.org" rel="nofollow noopener">www.example.org</a>,' in html
    assert '<a href="mailto:me@example.com" rel="nofollow noopener">me@example.com</a>;' in html
    assert "but example.com alone" in html


def test_heading_ids_github_slugs_and_duplicates():
    html = render_markdown("# Hello, World!\n## Hello World\n## Hello World\n## Hello World-1\n"
                           "### `code` _and_ **bold**: ÜNÏ 漢字\n#### ?!\n## Hello World\n")
    ids = [attrs["id"] for tag, attrs in elements(html) if tag.startswith("h") and "id" in attrs]
    # The explicit "Hello World-1" heading takes "hello-world-1-1": "hello-world-1" is taken.
    assert ids == ["hello-world", "hello-world-1", "hello-world-2", "hello-world-1-1",
                   "code-and-bold-ünï-漢字", "hello-world-3"]
    assert ('<h1 id="hello-world"><a class="anchor" href="#hello-world" '
            'aria-label="Permalink: Hello, World!">#</a>Hello, World!</h1>') in html
    assert "<h4>?!</h4>" in html     # nothing left to slug: no id, no anchor
    assert github_slug("A  B -- c_d") == "a--b----c_d"


def test_fenced_code_highlighted_for_known_languages_only():
    html = render_markdown("```python\ndef f():\n    return '<x>'\n```\n\n```nosuchlang\n<x>\n```\n\n```\nplain\n```\n")
    assert ('<div class="highlight"><pre><code class="language-python"><span class="k">def</span>'
            '<span class="w"> </span><span class="nf">f</span><span class="p">():</span>\n') in html
    assert "&lt;x&gt;" in html and "<x>" not in html
    assert '<pre><code class="language-nosuchlang">&lt;x&gt;\n</code></pre>' in html
    assert "<pre><code>plain\n</code></pre>" in html


def test_alerts():
    html = render_markdown("> [!WARNING]\n> Careful.\n")
    assert '<div class="markdown-alert markdown-alert-warning">' in html and "<p>Careful.</p>" in html


def test_huge_documents_are_shown_as_text():
    html = render_markdown("# x\n" + "a" * MAX_MARKDOWN_CHARS + "<script>")
    assert html.startswith("<pre># x\n") and html.endswith("&lt;script&gt;</pre>\n")


# --- links relative to the file --------------------------------------------------------------------

@pytest.mark.parametrize("source, href", [
    ("[a](docs/x.md)", "/alice/proj/blob/feature/x/docs/guide/docs/x.md"),
    ("[a](./x.md)", "/alice/proj/blob/feature/x/docs/guide/x.md"),
    ("[a](../a.md)", "/alice/proj/blob/feature/x/docs/a.md"),
    ("[a](../../../../../etc/passwd)", "/alice/proj/blob/feature/x/etc/passwd"),
    ("[a](/abs/path.py)", "/alice/proj/blob/feature/x/abs/path.py"),
    ("[a](/abs/../../up.py)", "/alice/proj/blob/feature/x/up.py"),
    ("[a](src/app.py#L10)", "/alice/proj/blob/feature/x/docs/guide/src/app.py#L10"),
    ("[a](x.md?plain=1#top)", "/alice/proj/blob/feature/x/docs/guide/x.md?plain=1#top"),
    ("[a](sub/)", "/alice/proj/tree/feature/x/docs/guide/sub"),
    ("[a](../)", "/alice/proj/tree/feature/x/docs"),
    ("[a](..)", "/alice/proj/tree/feature/x/docs"),
    ("[a](/)", "/alice/proj/tree/feature/x"),
    ("[a](<my file.md>)", "/alice/proj/blob/feature/x/docs/guide/my%20file.md"),
    ("[a](my%20file.md)", "/alice/proj/blob/feature/x/docs/guide/my%20file.md"),
    ("[a](ünï/ç.md)", "/alice/proj/blob/feature/x/docs/guide/%C3%BCn%C3%AF/%C3%A7.md"),
    ("[a](a%23b.md)", "/alice/proj/blob/feature/x/docs/guide/a%23b.md"),
    ("[a](%2e%2e/%2e%2e/x.md)", "/alice/proj/blob/feature/x/x.md"),
    ("[a][r]\n\n[r]: ../ref.md", "/alice/proj/blob/feature/x/docs/ref.md"),
    ("[a](#install)", "#install"),
    ("[a](?tab=readme)", "?tab=readme"),
    ("[a](https://example.com/x.md)", "https://example.com/x.md"),
    ("[a](mailto:me@example.com)", "mailto:me@example.com"),
    ("[a](//cdn.example.com/x)", "//cdn.example.com/x"),
])
def test_relative_links_resolve_against_the_file(source, href):
    (link,) = links(render_markdown(source, links=CTX))
    assert link["href"] == href


def test_images_point_at_raw_and_external_ones_stay():
    html = render_markdown("![logo](../img/logo.png) ![abs](</assets/a b.gif>) ![ext](https://x.org/i.png)",
                           links=CTX)
    assert [attrs["src"] for tag, attrs in elements(html) if tag == "img"] == [
        "/alice/proj/raw/feature/x/docs/img/logo.png", "/alice/proj/raw/feature/x/assets/a%20b.gif",
        "https://x.org/i.png"]
    # A link to an image file is a link to its page, as on GitHub.
    assert links(render_markdown("[logo](logo.png)", links=CTX))[0]["href"] == (
        "/alice/proj/blob/feature/x/docs/guide/logo.png")


def test_root_readme_links():
    html = render_markdown("[c](CONTRIBUTING.md) [d](docs/) ![i](img/x.png)", links=ROOT_CTX)
    assert 'href="/alice/proj/blob/main/CONTRIBUTING.md"' in html
    assert 'href="/alice/proj/tree/main/docs"' in html
    assert 'src="/alice/proj/raw/main/img/x.png"' in html


def test_external_links_get_nofollow_relative_ones_do_not():
    html = render_markdown("[e](https://example.com) [r](x.md) [f](#top)", links=CTX)
    rels = [(attrs["href"], attrs.get("rel")) for attrs in links(html)]
    assert rels == [("https://example.com", "nofollow noopener"),
                    ("/alice/proj/blob/feature/x/docs/guide/x.md", None), ("#top", None)]


def test_without_context_relative_links_stay_as_written():
    html = render_markdown("[a](docs/x.md) [b](../up.md) ![i](img.png) [c](<my file.md>)")
    assert [a["href"] for a in links(html)] == ["docs/x.md", "../up.md", "my%20file.md"]
    assert 'src="img.png"' in html


# --- README choice --------------------------------------------------------------------------------

def test_find_readme_preference():
    assert find_readme(["src", "README", "README.rst", "readme.md", "README.md"]) == "README.md"
    assert find_readme(["Readme.md", "readme.md"]) == "readme.md"
    assert find_readme(["ReadMe.MD", "README.txt"]) == "ReadMe.MD"
    assert find_readme(["README.txt", "README.markdown"]) == "README.markdown"
    assert find_readme(["README.rst", "README"]) == "README.rst"
    assert find_readme(["README"]) == "README"
    assert find_readme(["READMEFIRST.md", "readme.html", "docs"]) is None
    assert find_readme([]) is None


def test_is_markdown():
    for path in ("README.md", "docs/Guide.MARKDOWN", "a.mdown", "b.mkd"):
        assert is_markdown(path), path
    for path in ("README", "README.rst", "md", "x.mdx", "notes.txt"):
        assert not is_markdown(path), path
