"""Markdown for comments and issue bodies: the README renderer (repos.render.markdown, same safety
rules) plus GitHub's references, linked when they name something that exists:
  @name     -> the user's page
  #N        -> issue or pull request N of the repository
  7-40 hex  -> a commit of the repository
What exists is asked of a `References` the caller supplies (three callbacks, each returning the URL
or None), so this module stays free of Django. References are found only in plain text: never
inside code spans, code blocks, or links (autolinks included), and never in the middle of a word.
"""
import re
from dataclasses import dataclass
from html import escape
from typing import Callable

from markdown_it.token import Token

from .markdown import MAX_MARKDOWN_CHARS, _build_parser

# One pattern, three alternatives, each refusing to start or end inside a longer word, so that
# e-mail addresses, URLs' fragments ("page#3") and longer hex strings are left alone.
_REFERENCE = re.compile(
    r"(?<![\w@#/.\-])@(?P<user>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))(?![\w-])"
    r"|(?<![\w&#/])#(?P<issue>[1-9][0-9]{0,9})(?!\w)"
    r"|(?<![\w/#@.\-])(?P<sha>[0-9a-f]{7,40})(?![\w])"
)


@dataclass(frozen=True)
class References:
    """Each callback gets what was written and returns the URL of what it names, or None."""
    user: Callable[[str], str | None] = lambda name: None
    issue: Callable[[int], str | None] = lambda number: None
    commit: Callable[[str], str | None] = lambda hexsha: None


def render_with_references(text: str, references: References | None) -> str:
    """Safe HTML for a comment or issue body."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return f"<pre>{escape(text)}</pre>\n"
    return _PARSER.render(text, {"links": None, "forge_references": references})


def find_references(text: str) -> list[tuple[str, str]]:
    """[(kind, value)] of what `text` (plain text) could refer to, in order."""
    found = []
    for match in _REFERENCE.finditer(text):
        kind = match.lastgroup
        found.append((kind, match.group(kind)))
    return found


def _link_references(state) -> None:
    references = state.env.get("forge_references") if isinstance(state.env, dict) else None
    if references is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, depth = [], 0
        for token in block.children:
            if token.type == "link_open":
                depth += 1
            elif token.type == "link_close":
                depth -= 1
            if token.type == "text" and depth == 0 and token.content:
                children.extend(_split(token, references))
            else:
                children.append(token)
        block.children = children


def _split(token: Token, references: References) -> list[Token]:
    text = token.content
    out, start = [], 0
    for match in _REFERENCE.finditer(text):
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "user":
            url, label, css = references.user(value), match.group(0), "user-mention"
        elif kind == "issue":
            url, label, css = references.issue(int(value)), match.group(0), "issue-link"
        else:
            url, label, css = references.commit(value), value[:7], "commit-link"
        if not url:
            continue
        if match.start() > start:
            out.append(_text(text[start:match.start()]))
        link = Token("link_open", "a", 1)
        link.attrSet("href", url)
        link.attrSet("class", css)
        if kind == "sha":
            link.attrSet("title", value)
        out += [link, _text(label), Token("link_close", "a", -1)]
        start = match.end()
    if not out:
        return [token]
    if start < len(text):
        out.append(_text(text[start:]))
    return out


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _build() -> object:
    md = _build_parser()
    # Before text_join, while backslash escapes and entities are still tokens of their own, so
    # "\\#3" and "&#35;3" stay text, as on GitHub; and before the README renderer's link check
    # (pushed after text_join), so the links made here are checked like any other.
    md.core.ruler.before("text_join", "forge_references", _link_references)
    return md


_PARSER = _build()
