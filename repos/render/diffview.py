"""Diffs as HTML, unified or side by side, one collapsible block per file (a <details>, so
collapsing needs no JavaScript). Built as strings for the same reason as codeview."""
from html import escape

STATUS_WORDS = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "T": "type changed"}


def _cell(line):
    text = escape(line.text, quote=False)
    return text + ('<span class="nonl" title="No newline at end of file">⏎̸</span>' if line.no_newline else "")


def _num(n):
    return "" if n is None else str(n)


_KIND = {" ": "x", "-": "d", "+": "a"}


def _unified(patch):
    rows = []
    for hunk in patch.hunks:
        rows.append(f'<tr class="h"><td class="ln"><td class="ln"><td class="c">{escape(hunk.header)}')
        for line in hunk.lines:
            rows.append(f'<tr class="{_KIND[line.kind]}"><td class="ln">{_num(line.old_no)}<td class="ln">'
                        f'{_num(line.new_no)}<td class="c">{line.kind}{_cell(line)}')
    return ('<table class="diff"><colgroup><col class="ln"><col class="ln"><col></colgroup><tbody>'
            + "".join(rows) + "</tbody></table>")


def _split(patch, split_rows):
    rows = []
    for hunk in patch.hunks:
        rows.append(f'<tr class="h"><td class="ln"><td class="c" colspan="3">{escape(hunk.header)}')
        for left, right in split_rows(hunk):
            lcls = _KIND[left.kind] if left else "e"
            rcls = _KIND[right.kind] if right else "e"
            rows.append(
                f'<tr><td class="ln">{_num(left.old_no) if left else ""}<td class="c {lcls}">{_cell(left) if left else ""}'
                f'<td class="ln">{_num(right.new_no) if right else ""}<td class="c {rcls}">{_cell(right) if right else ""}')
    return ('<table class="diff split"><colgroup><col class="ln"><col><col class="ln"><col></colgroup><tbody>'
            + "".join(rows) + "</tbody></table>")


def _mode(mode):
    return f"{mode:06o}" if mode else ""


def diff_html(diff, *, view, blob_url, split_rows):
    """diff: repos.store.diff.Diff; blob_url(path) -> the file's URL at the new side (None for a
    deleted file); view: "unified" or "split"."""
    parts = []
    for number, patch in enumerate(diff.files):
        change = patch.change
        path = change.path
        title = escape(path)
        url = blob_url(change.new_path) if change.new_path else None
        name = f'<a href="{escape(url)}">{title}</a>' if url else title
        extra = ""
        if change.status == "R":
            extra = f' <span class="from">← {escape(change.old_path)} ({change.similarity}%)</span>'
        if change.old_mode and change.new_mode and change.old_mode != change.new_mode:
            extra += f' <span class="mode">{_mode(change.old_mode)} → {_mode(change.new_mode)}</span>'
        stat = "" if patch.binary else f'<span class="plus">+{patch.added}</span> <span class="minus">−{patch.deleted}</span>'
        parts.append(f'<details class="file" open id="file-{number}"><summary><span class="st st-{change.status}">'
                     f'{STATUS_WORDS.get(change.status, change.status)}</span> {name}{extra} <span class="stat">{stat}</span>'
                     f'</summary>')
        if patch.binary:
            parts.append('<p class="note">Binary file not shown.</p>')
        elif patch.cut:
            parts.append(f'<p class="note">{escape(patch.cut)}</p>')
        if patch.hunks:
            parts.append(_split(patch, split_rows) if view == "split" else _unified(patch))
        elif not patch.binary and not patch.cut and change.status in ("A", "D", "M", "R", "T"):
            if change.status != "R" or change.similarity != 100:
                parts.append('<p class="note">No content changes.</p>' if change.status == "M" else
                             '<p class="note">Empty file.</p>')
        parts.append("</details>")
    return "".join(parts)
