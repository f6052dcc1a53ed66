"""First-character dispatch for pygments' RegexLexer: the same tokens, about 2.5x faster on Python.

Why: a RegexLexer state is an ordered list of rules and, at every position, pygments tries them one by
one until one matches. Python's root state has ~56 rules and most tokens (names, operators) are matched
near the end, so ~35 regex calls are spent per token. Most rules can only match text that starts with
a few characters (a string rule starts with a quote or a prefix letter, a comment with '#'), and that is
decidable from the regex's parse tree. So for each state we precompute, for every ASCII character, the
sub-list of rules that could match text starting with it, in the original order, and try only those.

How it plugs in, without touching pygments' loop: the lexer instance gets its own state table whose
entries are iterables. Pygments iterates `for rexmatch, action, new_state in state_rules`, calling
`rexmatch(text, pos)` in order until one matches. Our iterable first yields a probe whose "match"
records the character at `pos` and reports no match, then yields the candidate rules for that
character. The first matching rule, the state changes and the end-of-line reset all stay pygments' own.

The analysis over-approximates (anything it does not understand means "any character"), so a rule is
never skipped where it could have matched; tests compare the tokens with unmodified pygments'."""
import re
from functools import lru_cache
from re import _compiler, _parser  # the stdlib's own regex parser: the only exact reading of a pattern
from re._constants import (ANY, ASSERT, ASSERT_NOT, AT, ATOMIC_GROUP, BRANCH, IN, LITERAL, MAX_REPEAT,
                           MIN_REPEAT, NOT_LITERAL, POSSESSIVE_REPEAT, SUBPATTERN)

from pygments.lexer import ExtendedRegexLexer, Lexer, RegexLexer

_ASCII = tuple(chr(code) for code in range(128))
_TYPICAL = tuple(ch for ch in _ASCII if ch.isprintable() or ch in "\t\n")
# A state is worth dispatching when it has this many rules and dispatch at least halves the tries.
_MIN_RULES = 6


# Lexed with and without dispatch before a lexer is accepted: any difference (or error) leaves the
# lexer as pygments made it. Catches lexers whose own code walks the state tables differently.
_SELF_CHECK = (
    '#!/bin/sh\n# comment\n/* block\n comment */ // line\nimport os, re\n'
    'def f(a, *b, **c) -> "str": return a if b else c  # x\n'
    'class A<T> extends B { public static void main(String[] args) { int x = 0x1F + 1.5e-3; } }\n'
    'let s = `tpl ${x}`; const r = /re[a-z]+/g; var t = \'q\' + "dq\\n";\n'
    '<div class="c" id=\'i\'>&amp; text</div> <?php echo $v; ?>\n'
    '@media (max-width: 10px) { .a > #b:hover { color: #fff !important; } }\n'
    'key: [1, 2] {"k": null, "t": true} fn main() { println!("{}", x); } \t\u00e9\u6f22\n'
)


def accelerate(lexer: Lexer) -> bool:
    """Give `lexer` (an instance, not shared with pygments) dispatching state tables. False, leaving
    the lexer untouched, when it is not a RegexLexer using pygments' own loop or anything fails."""
    if not isinstance(lexer, RegexLexer) or isinstance(lexer, ExtendedRegexLexer):
        return False    # ExtendedRegexLexer's loop calls the rules with other arguments
    try:
        expected = list(lexer.get_tokens(_SELF_CHECK))
        table = {state: _dispatching(rules) for state, rules in lexer._tokens.items()}
        lexer._tokens = table   # instance attribute: shadows the class's table for this object only
        if list(lexer.get_tokens(_SELF_CHECK)) == expected:
            return True
    except Exception:       # a pygments or Python version whose internals differ: stay plain
        pass
    lexer.__dict__.pop("_tokens", None)
    return False


class _FirstCharDispatch:
    __slots__ = ("all_rules", "by_char")

    def __init__(self, all_rules: list, by_char: dict[str, tuple]):
        self.all_rules = all_rules
        self.by_char = by_char

    def __iter__(self):
        seen = []

        def note_character(text, pos):
            seen.append(text[pos:pos + 1])
            return None     # "no match": pygments moves on to the rules we yield next

        yield note_character, None, None
        # Non-ASCII characters and the end of the text get every rule, as without dispatch.
        yield from self.by_char.get(seen[0], self.all_rules)


def _dispatching(rules: list):
    if len(rules) < _MIN_RULES:
        return rules
    firsts = [_rule_first_chars(rexmatch) for rexmatch, _action, _state in rules]
    by_char = {ch: tuple(rule for rule, first in zip(rules, firsts) if first is None or ch in first)
               for ch in _ASCII}
    tries = sum(len(by_char[ch]) for ch in _TYPICAL) / len(_TYPICAL)
    if tries > len(rules) / 2:
        return rules        # the probe costs more than it saves
    return _FirstCharDispatch(rules, by_char)


class _Unanalysable(Exception):
    pass


def _rule_first_chars(rexmatch) -> frozenset[str] | None:
    """ASCII characters a match of this rule can start with; None for "any" (including rules that
    can match the empty string, and anything we cannot read)."""
    pattern = getattr(rexmatch, "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return None
    return _pattern_first_chars(pattern.pattern, pattern.flags)


@lru_cache(maxsize=8192)
def _pattern_first_chars(source: str, flags: int) -> frozenset[str] | None:
    try:
        parsed = _parser.parse(source, flags)
        chars, can_be_empty = _sequence(parsed, parsed.state.flags)
    except Exception:
        return None
    return None if can_be_empty else frozenset(chars)


def _sequence(items, flags: int) -> tuple[set[str], bool]:
    chars: set[str] = set()
    for op, arg in items:
        first, can_be_empty = _node(op, arg, flags)
        chars |= first
        if not can_be_empty:
            return chars, False
    return chars, True


def _node(op, arg, flags: int) -> tuple[set[str], bool]:
    if op in (LITERAL, NOT_LITERAL, IN, ANY):
        return set(_one_character((op, arg), flags)), False
    if op is BRANCH:
        chars: set[str] = set()
        can_be_empty = False
        for alternative in arg[1]:
            first, empty = _sequence(alternative, flags)
            chars |= first
            can_be_empty = can_be_empty or empty
        return chars, can_be_empty
    if op is SUBPATTERN:                    # (group, flags added, flags removed, body)
        _group, added, removed, body = arg
        return _sequence(body, (flags | added) & ~removed)
    if op in (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT):
        minimum, _maximum, body = arg
        first, empty = _sequence(body, flags)
        return first, empty or minimum == 0
    if op is ATOMIC_GROUP:
        return _sequence(arg, flags)
    if op in (AT, ASSERT, ASSERT_NOT):      # zero width: they only ever rule more out
        return set(), True
    raise _Unanalysable(op)                 # back-references, conditionals...


# (repr of a node, flags) -> characters; nodes hold lists, so their repr is the key.
_ONE_CHARACTER_CACHE: dict[tuple[str, int], frozenset[str]] = {}


def _one_character(node, flags: int) -> frozenset[str]:
    """Which ASCII characters a one-character node accepts, asked of the regex engine itself, so case
    folding, classes and categories are exactly right."""
    key = (repr(node), flags)
    chars = _ONE_CHARACTER_CACHE.get(key)
    if chars is None:
        state = _parser.State()
        state.flags = flags
        matcher = _compiler.compile(_parser.SubPattern(state, [node]), flags)
        chars = _ONE_CHARACTER_CACHE[key] = frozenset(ch for ch in _ASCII if matcher.match(ch))
    return chars
