"""A diff in git's unified format (`git diff -M`): headers, index lines, quoted paths, hunks,
binary markers. For agents and for downloads. No Django here."""
from .packformat import ZERO_OID

EMPTY_BLOB = bytes.fromhex("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")

_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}


def _quoted(prefix, path):
    """A path as git prints it in headers (core.quotePath): C-quoted when it holds a control
    character, a quote, a backslash or a non-ASCII byte."""
    raw = prefix.encode() + path.encode("utf-8", "surrogateescape")
    if not any(c < 32 or c >= 127 or c in (34, 92) for c in raw):
        return raw.decode()
    parts = ['"']
    for c in raw:
        if c in _ESCAPES:
            parts.append("\\" + _ESCAPES[c])
        elif c < 32 or c >= 127:
            parts.append(f"\\{c:03o}")
        else:
            parts.append(chr(c))
    parts.append('"')
    return "".join(parts)


def _hunk_text(out, hunks):
    for hunk in hunks:
        out.append(hunk.header + "\n")
        for line in hunk.lines:
            out.append(line.kind + line.text + "\n")
            if line.no_newline:
                out.append("\\ No newline at end of file\n")


def _section(out, old_path, new_path, old_mode, new_mode, old_oid, new_oid, hunks, *, binary=False,
             similarity=None, cut=None, abbrev=7):
    a_name, b_name = old_path or new_path, new_path or old_path
    out.append(f"diff --git {_quoted('a/', a_name)} {_quoted('b/', b_name)}\n")
    if old_path is None:
        out.append(f"new file mode {new_mode:06o}\n")
    elif new_path is None:
        out.append(f"deleted file mode {old_mode:06o}\n")
    elif old_mode != new_mode:
        out.append(f"old mode {old_mode:06o}\nnew mode {new_mode:06o}\n")
    if similarity is not None:
        out.append(f"similarity index {similarity}%\nrename from {_quoted('', old_path)}\n"
                   f"rename to {_quoted('', new_path)}\n")
    old_oid, new_oid = old_oid or ZERO_OID, new_oid or ZERO_OID
    if old_oid != new_oid:
        mode = f" {old_mode:06o}" if old_mode == new_mode else ""
        out.append(f"index {old_oid.hex()[:abbrev]}..{new_oid.hex()[:abbrev]}{mode}\n")
    old_label = _quoted("a/", old_path) if old_path is not None else "/dev/null"
    new_label = _quoted("b/", new_path) if new_path is not None else "/dev/null"
    if binary and old_oid != new_oid:
        out.append(f"Binary files {old_label} and {new_label} differ\n")
    elif hunks:
        # git ends a name holding a space with a tab (as diff -u does), so that tools can tell
        # where the name stops.
        out.append(f"--- {old_label}{chr(9) if old_path and ' ' in old_path else ''}\n")
        out.append(f"+++ {new_label}{chr(9) if new_path and ' ' in new_path else ''}\n")
        _hunk_text(out, hunks)
    if cut:
        out.append(f"# {cut}\n")


def patch_text(diff, *, abbrev=None):
    """The diff as `git diff -M` prints it (a/ b/ prefixes, abbreviated index lines). Files or
    hunks the limits left out are marked with a line starting with '# '."""
    abbrev = abbrev or diff.abbrev
    out = []
    for fp in diff.files:
        c = fp.change
        if c.status == "T":
            # As git: the old file deleted, then the new one created (their own binary checks).
            gone = [h for h in fp.hunks if h.new_count == 0 and h.new_start == 0]
            made = [h for h in fp.hunks if h.old_count == 0 and h.old_start == 0]
            old_binary = fp.binary and not gone and c.old_oid != EMPTY_BLOB and not fp.cut
            new_binary = fp.binary and not made and c.new_oid != EMPTY_BLOB and not fp.cut
            _section(out, c.old_path, None, c.old_mode, 0, c.old_oid, None, gone, binary=old_binary, abbrev=abbrev)
            _section(out, None, c.new_path, 0, c.new_mode, None, c.new_oid, made, binary=new_binary, cut=fp.cut,
                     abbrev=abbrev)
            continue
        _section(out, c.old_path, c.new_path, c.old_mode, c.new_mode, c.old_oid, c.new_oid, fp.hunks,
                 binary=fp.binary, similarity=c.similarity if c.status == "R" else None, cut=fp.cut,
                 abbrev=abbrev)
    if diff.cut:
        out.append(f"# {diff.cut}\n")
    return "".join(out)


__all__ = ["patch_text", "EMPTY_BLOB"]
