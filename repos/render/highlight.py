"""Syntax highlighting of whole files, one safe HTML string per line (the template adds numbers).

The lexer is chosen from the file name only (plus a shebang for files without an extension); never
guessed from content, which is slow and unreliable. The whole file is lexed and formatted in one pass
by a single shared HtmlFormatter: its line mode closes every span at the end of a line and reopens it
on the next, so each line of a docstring or block comment stands alone, balanced. Lexing is most of
the cost; fastlex makes pygments' regex lexers try only the rules that can match at each position.

Token classes are pygments' short ones (`k`, `s2`, `c1`...), styled by stylesheet() under the
`.highlight` class: the element holding the lines (or a Markdown code block) must carry it."""
import io
import os
import re
from functools import lru_cache
from html import escape

from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_by_name, find_lexer_class_for_filename
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from .fastlex import accelerate

# Past these sizes a file is shown as plain escaped lines: lexing costs time and the browser's
# rendering of a huge highlighted table costs more.
MAX_HIGHLIGHT_BYTES = 512 * 1024
MAX_HIGHLIGHT_LINES = 20_000

STYLE = "default"
CSS_SCOPE = ".highlight"

# One formatter for every call: nowrap gives the bare token spans, one line per '\n'.
_FORMATTER = HtmlFormatter(nowrap=True, style=STYLE)

# Interpreters named on a shebang line -> pygments alias.
_SHEBANG_ALIASES = {
    "python": "python", "pypy": "python", "sh": "bash", "bash": "bash", "dash": "bash", "ash": "bash",
    "ksh": "bash", "zsh": "zsh", "fish": "fish", "node": "javascript", "nodejs": "javascript",
    "deno": "typescript", "ruby": "ruby", "perl": "perl", "php": "php", "lua": "lua", "tclsh": "tcl",
    "wish": "tcl", "awk": "awk", "gawk": "awk", "pwsh": "powershell", "rscript": "r", "make": "make",
    "escript": "erlang", "runhaskell": "haskell", "elixir": "elixir", "julia": "julia",
}
_SHEBANG_RE = re.compile(r"#!\s*(\S+)(.*)")

# Where pygments' choice among several lexers for a pattern is not the common language (it would
# pick Prolog for .pl, Promela for .pm, Forth for .fs, Modula-2 for go.mod): alias, or None for plain.
_NAME_OVERRIDES: dict[str, str | None] = {
    ".pl": "perl", ".pm": "perl", ".t": "perl", ".fs": "fsharp", ".r": "r", ".sql": "sql",
    ".inc": None, "go.mod": None, "go.sum": None,
}


def split_text_lines(text: str) -> list[str]:
    """Lines as git counts them (split at '\\n'; a final newline ends the last line rather than
    starting an empty one), without their line ending ('\\n' or '\\r\\n')."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def highlight_lines(text: str, filename: str) -> list[str]:
    """One safe HTML string per line of `text` (lines as git counts them, CRLF or LF), token spans
    balanced within each line; escaped plain lines for unknown languages and oversized files."""
    lines = split_text_lines(text)
    lexer = _lexer_for(filename, lines[0] if lines else "")
    if lexer is None or _too_large(text, len(lines)):
        return [escape(line) for line in lines]
    body = "\n".join(lines)
    # Pygments turns a lone '\r' into a line break, which would shift every later line number.
    if "\r" in body:
        return [escape(line) for line in lines]
    try:
        highlighted = _format(body, lexer)
    except Exception:       # a lexer bug must cost the colours, not the page
        highlighted = []
    if len(highlighted) != len(lines):      # never expected otherwise; the numbering must stay right
        return [escape(line) for line in lines]
    return highlighted


def highlight_block(code: str, language: str) -> str | None:
    """HTML spans for a code block in a named language (a Markdown fence's info string), lines
    joined by '\\n'; None when the language is unknown, plain text or the block too large."""
    lexer = _lexer_by_alias(language.strip().lower())
    if lexer is None or _too_large(code, code.count("\n")):
        return None
    try:
        return "\n".join(_format(code.rstrip("\n"), lexer))
    except Exception:
        return None


def lexer_name(filename: str, first_line: str = "") -> str | None:
    """Human name of the language highlight_lines would use ("Python"), None for plain text.
    `first_line` (optional) lets a shebang name the language of a file without an extension."""
    lexer = _lexer_for(filename, first_line)
    return lexer.name if lexer is not None else None


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """CSS for the token classes, scoped under `.highlight`, light theme, one rule a line."""
    formatter = HtmlFormatter(style=STYLE)
    rules = formatter.get_background_style_defs(CSS_SCOPE) + formatter.get_token_style_defs(CSS_SCOPE)
    compact = [rule.split(" /*", 1)[0] for rule in rules]
    # The default style boxes error tokens in red; on code a lexer merely doesn't follow, that is noise.
    compact = [rule for rule in compact if not rule.startswith(f"{CSS_SCOPE} .err ")]
    return "\n".join(compact) + "\n"


def _too_large(text: str, line_count: int) -> bool:
    if line_count > MAX_HIGHLIGHT_LINES or len(text) > MAX_HIGHLIGHT_BYTES:
        return True
    # Characters undercount bytes only for non-ASCII text; encode just when it could matter.
    return len(text) * 4 > MAX_HIGHLIGHT_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_HIGHLIGHT_BYTES


def _format(body: str, lexer: Lexer) -> list[str]:
    """`body`: lines joined by '\\n' (no final newline) -> one HTML string per line."""
    out = io.StringIO()
    # The explicit final newline ends the last line (blank or not), so splitting the output at '\n'
    # leaves exactly one empty piece after it.
    _FORMATTER.format(lexer.get_tokens(body + "\n"), out)
    lines = out.getvalue().split("\n")
    lines.pop()
    return lines


def _lexer_for(filename: str, first_line: str) -> Lexer | None:
    name = os.path.basename(filename.rstrip("/"))
    lexer = _lexer_by_filename(name)
    if lexer is None and "." not in name.lstrip(".") and first_line.startswith("#!"):
        lexer = _lexer_by_shebang(first_line)
    return lexer


@lru_cache(maxsize=4096)
def _lexer_by_filename(name: str) -> Lexer | None:
    if not name:
        return None
    for key in (name, os.path.splitext(name)[1].lower()):
        if key in _NAME_OVERRIDES:
            alias = _NAME_OVERRIDES[key]
            return _lexer_by_alias(alias) if alias else None
    # No content is passed, so pygments ranks several matching patterns by priority, not by guessing.
    cls = find_lexer_class_for_filename(name) or find_lexer_class_for_filename(name.lower())
    return _instance(cls)


def _lexer_by_shebang(first_line: str) -> Lexer | None:
    match = _SHEBANG_RE.match(first_line.strip())
    if not match:
        return None
    program = os.path.basename(match.group(1))
    if program == "env":
        args = [arg for arg in match.group(2).split() if not arg.startswith("-") and "=" not in arg]
        program = args[0] if args else ""
    interpreter = re.sub(r"[\d.]+$", "", program).lower()       # python3.11 -> python
    alias = _SHEBANG_ALIASES.get(interpreter)
    return _lexer_by_alias(alias) if alias else None


@lru_cache(maxsize=512)
def _lexer_by_alias(alias: str) -> Lexer | None:
    if not alias or len(alias) > 40:
        return None
    try:
        cls = find_lexer_class_by_name(alias)
    except ClassNotFound:
        return None
    return _instance(cls)


@lru_cache(maxsize=None)
def _instance(cls: type[Lexer] | None) -> Lexer | None:
    """One lexer object per class, reused: lexing keeps its state in locals, not on the lexer."""
    if cls is None or cls is TextLexer:
        return None
    # stripnl would drop leading and trailing blank lines and shift the numbering.
    lexer = cls(stripnl=False, ensurenl=True)
    accelerate(lexer)
    return lexer
