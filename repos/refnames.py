"""Git's ref name rules (git check-ref-format), for branch names chosen on the web and refs pushed.
No Django imports: the git layer uses this too."""

# ASCII control characters, DEL, and the characters git forbids anywhere in a ref name.
_FORBIDDEN_CHARACTERS = frozenset(chr(code) for code in range(0x20)) | frozenset('\x7f ~^:?*[\\')


def ref_name_error(ref: str | bytes) -> str | None:
    """Why `ref` (a full name such as refs/heads/main) is not a valid ref name; None if it is."""
    # Git allows any bytes other than those below; Forge keeps ref names as text (the store, pages,
    # the API), so one that is not UTF-8 is refused ("funny refname" to a push) rather than crash later.
    try:
        if isinstance(ref, bytes):
            ref = ref.decode("utf-8")
        else:
            ref.encode("utf-8")  # a str with lone surrogates (surrogateescape'd bytes) fails here
    except UnicodeError:
        return "a ref name must be UTF-8 text"
    if not ref:
        return "a ref name cannot be empty"
    if ref == "@":
        return "a ref name cannot be '@'"
    bad = sorted({character for character in ref if character in _FORBIDDEN_CHARACTERS})
    if bad:
        return f"a ref name cannot contain {', '.join(repr(character) for character in bad)}"
    if ".." in ref:
        return "a ref name cannot contain '..'"
    if "@{" in ref:
        return "a ref name cannot contain '@{'"
    if ref.startswith("/") or ref.endswith("/") or "//" in ref:
        return "a ref name cannot begin or end with '/' or contain '//'"
    if ref.endswith("."):
        return "a ref name cannot end with '.'"
    if "/" not in ref:
        return "a ref name needs at least one '/' (e.g. refs/heads/main)"
    for component in ref.split("/"):
        if component.startswith("."):
            return f"no part of a ref name can begin with '.' ({component!r})"
        if component.endswith(".lock"):
            return f"no part of a ref name can end with '.lock' ({component!r})"
    return None


def valid_ref_name(ref: str | bytes) -> bool:
    return ref_name_error(ref) is None


def branch_name_error(branch: str) -> str | None:
    """Why `branch` (the short name: main, feature/x) cannot be a branch; None if it can."""
    if branch.startswith("-"):
        # `git branch` refuses it: it would read as an option.
        return "a branch name cannot begin with '-'"
    if branch == "HEAD":
        return "a branch cannot be called HEAD"
    return ref_name_error(f"refs/heads/{branch}")


def valid_branch_name(branch: str) -> bool:
    return branch_name_error(branch) is None
