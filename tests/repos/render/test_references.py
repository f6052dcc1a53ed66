"""@name, #N and commit references in comments: linked only when the resolver knows them, never
inside code, code blocks or links, never mid-word, and hostile input stays escaped."""
import pytest

from repos.render.references import References, find_references, render_with_references

SHA = "deadbeefcafe0123456789abcdef0123456789ab"
REFS = References(
    user=lambda name: f"/{name.lower()}" if name.lower() in ("alice", "bob-2") else None,
    issue=lambda number: {3: "/o/r/issues/3", 4: "/o/r/pulls/4"}.get(number),
    commit=lambda text: f"/o/r/commit/{SHA}" if SHA.startswith(text) else None,
)


def render(text):
    return render_with_references(text, REFS)


def test_each_kind_links_when_it_exists():
    html = render(f"@alice and @Bob-2 see #3 and #4, fixed in {SHA[:10]} and {SHA}")
    assert '<a href="/alice" class="user-mention">@alice</a>' in html
    assert '<a href="/bob-2" class="user-mention">@Bob-2</a>' in html
    assert '<a href="/o/r/issues/3" class="issue-link">#3</a>' in html
    assert '<a href="/o/r/pulls/4" class="issue-link">#4</a>' in html
    assert html.count(f'<a href="/o/r/commit/{SHA}" class="commit-link"') == 2
    assert f'title="{SHA[:10]}">deadbee</a>' in html


def test_unknown_references_stay_text():
    html = render("@nobody #99 1234567 deadbee0")
    assert "<a" not in html and "@nobody #99 1234567 deadbee0" in html


@pytest.mark.parametrize("text", [
    "`@alice #3 deadbeef`",
    "```\n@alice #3 deadbeef\n```",
    "    @alice #3 deadbeef",
    "[see @alice #3 deadbeef](https://example.com)",
    "https://example.com/page#3",
    "mail alice@example.com",
    "x#3 a@alice deadbeefcafe0123456789abcdef0123456789abff",
    "\\#3 \\@alice &#35;3",
    "xdeadbeef deadbeefx",
])
def test_no_reference_inside_code_links_or_words(text):
    html = render(text)
    assert "user-mention" not in html and "issue-link" not in html and "commit-link" not in html, html


def test_references_inside_emphasis_headings_and_lists():
    html = render("# About #3\n\n- **@alice** _#3_\n")
    assert html.count('class="issue-link"') == 2 and 'class="user-mention"' in html


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script> @alice",
    "@alice<img src=x onerror=alert(1)>",
    "#3\"><script>alert(1)</script>",
    "[x](javascript:alert(1)) #3",
    "<a href=\"javascript:alert(1)\">@alice</a>",
])
def test_hostile_input_stays_escaped(text):
    html = render(text)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "onerror=" not in html or "&lt;img" in html


def test_a_resolver_that_returns_markup_cannot_inject_it():
    evil = References(user=lambda name: '"><script>alert(1)</script>', issue=lambda n: "javascript:alert(1)")
    html = render_with_references("@alice #3", evil)
    assert "<script" not in html
    assert 'href="javascript' not in html       # the README renderer's URL check still applies


def test_without_a_resolver_it_is_the_readme_renderer():
    assert render_with_references("@alice #3", None) == "<p>@alice #3</p>\n"


def test_find_references():
    assert find_references(f"@alice #3 {SHA[:7]} a@b") == [("user", "alice"), ("issue", "3"), ("sha", SHA[:7])]
