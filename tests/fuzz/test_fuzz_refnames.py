"""Fuzzing ref names (repos/refnames.py) against git itself: `git check-ref-format NAME` and
`git check-ref-format --branch NAME` are the authority (git has no batch mode, so each case runs git;
a millisecond or two). Names are built from the pieces git's rules are about, and from any bytes.

Forge must accept exactly what git accepts (accepting more would let a push or a web form create a
ref git cannot fetch; refusing more would refuse pushes git makes), with one deliberate difference:
names that are not UTF-8, which git takes and Forge refuses (it keeps ref names as text)."""
import subprocess

from hypothesis import example, given
from hypothesis import strategies as st

from repos.refnames import branch_name_error, ref_name_error, valid_branch_name, valid_ref_name
from tests.fuzz.fuzzing import count, fuzz_settings
from tests.support.gitcli import git_env

_ENV = git_env()
PIECES = [b"refs", b"heads", b"tags", b"/", b"/", b".", b"..", b"lock", b".lock", b"@", b"{", b"}", b"@{", b"~",
          b"^", b":", b"?", b"*", b"[", b"]", b"\\", b" ", b"\t", b"\n", b"\x7f", b"\x01", b"\x1f", b"-", b"a", b"b",
          b"main", b"HEAD", b"\xc3\xa9", b"\xff", b"\xe2\x80\x8b", b"\xef\xbb\xbf", b"0", b"%", b"!", b"#", b"'"]
# argv cannot carry a NUL; names holding one are covered by their own test below.
names = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=10).map(b"".join),
    st.tuples(st.sampled_from([b"refs/heads/", b"refs/tags/", b"refs/", b""]),
              st.lists(st.sampled_from(PIECES), max_size=6).map(b"".join)).map(b"".join),
    st.binary(min_size=1, max_size=20).map(lambda b: b.replace(b"\0", b"")).filter(bool),
)


def utf8(name):
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def git_accepts(*args):
    result = subprocess.run(["git", "check-ref-format", *args], env=_ENV, capture_output=True, check=False)
    assert result.returncode in (0, 1, 128), result.stderr
    return result.returncode == 0


@fuzz_settings()
@given(name=names)
@example(name=b"refs/heads/a.lock/b")
@example(name=b"refs/heads/@")
@example(name=b"@")
@example(name=b"refs/heads/\xff")  # git accepts it, Forge refuses it: not UTF-8
@example(name=b"x/@")
@example(name=b"-")
@example(name=b"-x/y")
def test_forge_accepts_exactly_the_ref_names_git_accepts(name):
    count("refnames: full names vs git check-ref-format")
    text = name.decode("utf-8", "surrogateescape")
    forge = valid_ref_name(name)
    assert forge == valid_ref_name(text)
    if name.startswith(b"-"):
        # git would read it as an option. No rule is about a leading '-', so git is asked about
        # refs/NAME, which it accepts exactly when NAME's components pass and NAME has one more
        # level than it needs (the one-level rule is then checked here).
        git = git_accepts(b"refs/" + name) and b"/" in name
    else:
        git = git_accepts(name)
    # The one deliberate difference: git takes any bytes, Forge only UTF-8 text (found by this test:
    # a pushed name that was not UTF-8 passed the check and crashed the push with a 500).
    git = git and utf8(name)
    assert forge == git, f"Forge {'accepts' if forge else 'refuses'} {name!r}: {ref_name_error(name)}"


@fuzz_settings()
@given(name=names.filter(lambda n: n != b"-"))  # '-' alone is git's shorthand for '@{-1}'
@example(name=b"HEAD")
@example(name=b"-x")
@example(name=b"a@{-1}")
@example(name=b"@")
def test_forge_accepts_exactly_the_branch_names_git_accepts(name):
    count("refnames: branch names vs git check-ref-format --branch")
    text = name.decode("utf-8", "surrogateescape")
    forge = valid_branch_name(text)
    # `--branch` reads '@{-N}' as "the N-th branch checked out before" (needs a repository); a name
    # holding '@{' is refused by both rules anyway, so git is asked only about the others.
    if b"@{" in name:
        assert not forge
        return
    git = git_accepts("--branch", name) and utf8(name)
    assert forge == git, f"Forge {'accepts' if forge else 'refuses'} {name!r}: {branch_name_error(text)}"


@fuzz_settings()
@given(before=names, after=names)
def test_a_nul_anywhere_is_refused(before, after):
    count("refnames: NUL refused")
    assert ref_name_error(before + b"\0" + after) is not None
    assert branch_name_error((before + b"\0" + after).decode("utf-8", "surrogateescape")) is not None
