"""Highlighting whole files line by line: every line's spans balanced (docstrings and block comments
split at line ends), exactly one HTML line per line of the file as git counts them, the text itself
unchanged under the markup, plain escaped lines for unknown and oversized files. The lexing
accelerator (fastlex) must give exactly pygments' own tokens."""
import html
import os
import re
from html.parser import HTMLParser

import django
import pytest
from pygments.lexers import (BashLexer, CLexer, CppLexer, CssLexer, GoLexer, JavascriptLexer, PhpLexer,
                             PythonLexer, RubyLexer, RustLexer)

from repos.render.fastlex import accelerate
from repos.render.highlight import (MAX_HIGHLIGHT_BYTES, MAX_HIGHLIGHT_LINES, highlight_block,
                                    highlight_lines, lexer_name, stylesheet)
from repos.store.linediff import split_lines as git_split_lines

DJANGO = os.path.dirname(django.__file__)

DOCSTRINGS = '''"""Module docstring
spanning <three> & lines."""


class Thing:
    """Class doc.

    With a blank line, 'quotes' and "double quotes".
    """

    def method(self, x):
        r\'\'\'Raw docstring \\d+
        second line\'\'\'
        text = f"""an f-string {x!r}
        over two lines"""
        return text  # comment with <b>tags</b>
'''


class SpanBalance(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.lowest = 0
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.depth += 1

    def handle_endtag(self, tag):
        self.depth -= 1
        self.lowest = min(self.lowest, self.depth)


def assert_faithful(lines_html, text):
    """Same number of lines as git counts, each balanced, each showing exactly the line's text."""
    expected = text.split("\n")
    if expected[-1] == "":
        expected.pop()
    expected = [line.removesuffix("\r") for line in expected]
    assert len(lines_html) == len(expected) == len(git_split_lines(text.encode()))
    for line_html, line in zip(lines_html, expected):
        checker = SpanBalance()
        checker.feed(line_html)
        checker.close()
        assert checker.depth == 0 and checker.lowest == 0, line_html
        assert checker.tags <= {"span"}, line_html
        assert "\n" not in line_html
        assert html.unescape(re.sub(r"<[^>]*>", "", line_html)) == line, line_html


def test_docstrings_are_split_into_balanced_lines():
    lines = highlight_lines(DOCSTRINGS, "thing.py")
    assert_faithful(lines, DOCSTRINGS)
    assert lines[0] == '<span class="sd">"""Module docstring</span>'
    assert lines[1].startswith('<span class="sd">spanning &lt;three&gt; &amp; lines.')
    assert '<span class="k">class</span>' in lines[4]
    # The middle line of a multi-line docstring is wrapped in its own span, opened and closed.
    assert lines[7] == '<span class="sd">    With a blank line, \'quotes\' and "double quotes".</span>'
    assert '<span class="c1"># comment with &lt;b&gt;tags&lt;/b&gt;</span>' in lines[-1]


@pytest.mark.parametrize("relative", ["db/models/query.py", "db/models/fields/__init__.py",
                                      "contrib/admin/static/admin/js/actions.js",
                                      "contrib/admin/static/admin/css/base.css",
                                      "contrib/admin/templates/admin/base.html"])
def test_real_files_from_djangos_source(relative):
    with open(os.path.join(DJANGO, relative), encoding="utf-8", newline="") as f:
        text = f.read()
    lines = highlight_lines(text, relative)
    assert_faithful(lines, text)
    assert "<span" in "".join(lines)


def test_crlf_and_missing_final_newline():
    text = 'x = "a"\r\n"""doc\r\nstring"""\r\ny = 2'
    lines = highlight_lines(text, "crlf.py")
    assert_faithful(lines, text)
    assert len(lines) == 4 and "\r" not in "".join(lines)
    assert lines[3] == '<span class="n">y</span> <span class="o">=</span> <span class="mi">2</span>'


def test_edge_shapes():
    assert highlight_lines("", "a.py") == []
    assert highlight_lines("\n", "a.py") == [""]
    assert highlight_lines("\n\n\nx\n\n", "a.py")[:3] == ["", "", ""]
    assert len(highlight_lines("\n\n\nx\n\n", "a.py")) == 5
    # Blank lines at the end keep the highlighting (and the count).
    assert highlight_lines("x = 1\n\n\n", "a.py") == [
        '<span class="n">x</span> <span class="o">=</span> <span class="mi">1</span>', "", ""]
    assert highlight_lines("\n\nx = 1", "a.py")[2].startswith('<span class="n">x</span>')
    lone_cr = "a = 1\rb = 2\nc = 3\n"          # a lone CR is not a line break for git
    assert highlight_lines(lone_cr, "a.py") == ["a = 1\rb = 2", "c = 3"]


def test_unknown_and_plain_files_are_escaped_lines():
    text = "<script>alert(1)</script>\n& done\n"
    expected = ["&lt;script&gt;alert(1)&lt;/script&gt;", "&amp; done"]
    assert highlight_lines(text, "notes.txt") == expected
    assert highlight_lines(text, "README") == expected
    assert highlight_lines(text, "data.unknownext") == expected


def test_hostile_code_is_escaped_inside_highlighting():
    lines = highlight_lines('x = "</span><script>alert(1)</script>"\n', "x.py")
    assert "<script" not in lines[0] and "&lt;/span&gt;&lt;script&gt;" in lines[0]


def test_oversized_files_degrade_to_plain_escaped_lines():
    line = "value = compute('<x>') + 1  # comment\n"
    text = line * (600 * 1024 // len(line) + 1)
    assert len(text) > MAX_HIGHLIGHT_BYTES
    lines = highlight_lines(text, "big.py")
    assert len(lines) == text.count("\n")
    assert lines[0] == "value = compute(&#x27;&lt;x&gt;&#x27;) + 1  # comment"
    assert "<span" not in "".join(lines)

    many = "x = 1\n" * (MAX_HIGHLIGHT_LINES + 1)
    assert "<span" not in "".join(highlight_lines(many, "many.py"))
    assert "<span" in highlight_lines("x = 1\n" * MAX_HIGHLIGHT_LINES, "ok.py")[0]

    wide = "s = '" + "é" * (300 * 1024) + "'\n"      # under the limit in characters, over it in bytes
    assert "<span" not in highlight_lines(wide, "wide.py")[0]


def test_lexer_chosen_by_name_never_by_content():
    assert lexer_name("src/app.py") == "Python"
    assert lexer_name("Makefile") == "Makefile"
    assert lexer_name("docker/Dockerfile") == "Docker"
    assert lexer_name("CMakeLists.txt") == "CMake"
    assert lexer_name("LOUD.PY") == "Python"
    assert lexer_name("notes.txt") is None
    assert lexer_name("README") is None
    # A Python program named .txt is still plain text: the content is never guessed from.
    assert "<span" not in highlight_lines("import os\ndef f(): pass\n", "program.txt")[0]


def test_shebang_names_the_language_of_files_without_extension():
    assert lexer_name("bin/tool", "#!/usr/bin/env python3") == "Python"
    assert lexer_name("bin/run", "#!/bin/sh") == "Bash"
    assert lexer_name("bin/serve", "#!/usr/bin/env -S node --harmony") == "JavaScript"
    assert lexer_name("bin/tool") is None
    assert lexer_name("notes.txt", "#!/usr/bin/env python3") is None     # an extension wins
    lines = highlight_lines("#!/usr/bin/env python3\nimport os\n", "bin/tool")
    assert lines[1] == '<span class="kn">import</span><span class="w"> </span><span class="nn">os</span>'


def test_highlight_block_for_markdown_fences():
    assert highlight_block("print('hi')\n", "python") == (
        '<span class="nb">print</span><span class="p">(</span><span class="s1">\'hi\'</span>'
        '<span class="p">)</span>')
    assert highlight_block("a\n\n", "py").count("\n") == 0        # trailing newlines dropped
    assert highlight_block("x", "no-such-language") is None
    assert highlight_block("x", "text") is None
    assert highlight_block("x", '"><script>') is None


def test_stylesheet_is_scoped_compact_and_light():
    css = stylesheet()
    assert ".highlight .k { color: #008000; font-weight: bold }" in css
    assert ".highlight { background: #f8f8f8; }" in css
    assert "/*" not in css and ".err" not in css
    for rule in css.splitlines():
        assert rule.startswith(".highlight"), rule       # nothing that styles the rest of the page


@pytest.mark.parametrize("lexer_class, pattern", [(PythonLexer, ".py"), (JavascriptLexer, ".js"),
                                                  (CssLexer, ".css")])
def test_accelerated_lexing_gives_exactly_pygments_tokens(lexer_class, pattern):
    plain = lexer_class(stripnl=False)
    fast = lexer_class(stripnl=False)
    assert accelerate(fast)
    sources = sorted((os.path.getsize(os.path.join(d, n)), os.path.join(d, n))
                     for d, _, names in os.walk(DJANGO) for n in names if n.endswith(pattern))
    sources = [path for size, path in sources if size < 60_000]
    checked = 0
    for path in sources[-8:] + sources[:8]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert list(fast.get_tokens(text)) == list(plain.get_tokens(text)), path
        checked += 1
    assert checked >= 12
    tricky = ('rb"x" Rf\'{a!r}\' \'\'\'a\n\'\'\' """b""" 0x1F 1_000j @dec\nclass A(B): pass\n'
              "match x:\n case [1, *r]: ...\n# é ü 漢字\nλ = lambda: None\n")
    assert list(fast.get_tokens(tricky)) == list(plain.get_tokens(tricky))


SNIPPETS = {
    CLexer: '#include <stdio.h>\n/* block\n * comment */\nstatic int f(const char *s) { return s[0] == \'\\n\' ? 0x1f : 1.5e3; }\n'
            '#define MAX(a, b) ((a) > (b) ? (a) : (b))\nint main(void) { printf("%d\\n", MAX(1, 2)); }\n',
    CppLexer: 'template <typename T> class A : public B<T> { auto f() -> int override { return R"(raw)"s.size(); } };\n'
              'namespace n { using std::vector; } // comment\n',
    PhpLexer: '<?php\nnamespace App;\nfunction f(array $a): ?string { return $a[\'k\'] ?? "x{$a[0]}"; }\n// c\n?>\n<b>html</b>\n',
    GoLexer: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tch := make(chan int, 3) // c\n\tfmt.Println(`raw\nstring`, 1e3)\n}\n',
    RustLexer: 'fn main() { let v: Vec<u8> = vec![1, 2]; println!("{:?} {}", v, r#"raw"#); } // c\n#[derive(Debug)]\nstruct S<\'a> { s: &\'a str }\n',
    BashLexer: '#!/bin/bash\nset -euo pipefail\nfor f in "$@"; do echo "${f%.txt}" | grep -q x && exit 1; done # c\ncat <<EOF\n$HOME\nEOF\n',
}


@pytest.mark.parametrize("lexer_class", list(SNIPPETS))
def test_accelerated_lexing_of_other_languages(lexer_class):
    plain = lexer_class(stripnl=False)
    fast = lexer_class(stripnl=False)
    assert accelerate(fast)
    text = SNIPPETS[lexer_class]
    assert list(fast.get_tokens(text)) == list(plain.get_tokens(text))
    assert len(set(token for token, _ in plain.get_tokens(text))) > 5


def test_lexers_with_their_own_loop_are_left_alone():
    ruby = RubyLexer(stripnl=False)
    assert not accelerate(ruby)
    assert "_tokens" not in ruby.__dict__
    assert list(ruby.get_tokens("def f; 1; end\n")) == list(RubyLexer(stripnl=False).get_tokens("def f; 1; end\n"))


def test_common_extensions_get_the_common_language():
    assert lexer_name("lib/Foo.pm") == "Perl"
    assert lexer_name("script.pl") == "Perl"
    assert lexer_name("Program.fs") == "F#"
    assert lexer_name("go.mod") is None
    assert lexer_name("schema.sql") == "SQL"
