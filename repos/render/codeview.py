"""The HTML of big page bodies, built as strings: a template loop over thousands of lines costs
tens of milliseconds, a join costs one. Every piece of content is escaped before it is joined."""


def code_table(lines_html, *, start=1):
    """A file's lines (already safe HTML) with line numbers that are links (#L10); closing tags
    that HTML makes optional are left out, which keeps the page about a third lighter."""
    # Unquoted attribute values and no classes per cell (CSS addresses the columns): a 3,000-line
    # file is 70 KB lighter.
    parts = ['<table class="code plain-cells highlight"><tbody>']
    for number, line in enumerate(lines_html, start):
        parts.append(f'<tr id=L{number}><td><a href=#L{number}>{number}</a><td>{line}')
    parts.append("</tbody></table>")
    return "".join(parts)


def blame_table(groups, lines_html):
    """groups: [(start, count, head_html)] covering the file in order; head_html is the safe
    summary cell (commit link, author, age) shown once per group."""
    parts = ['<table class="code blame highlight"><tbody>']
    for start, count, head in groups:
        for number in range(start, start + count):
            cell = f'<td class="bl" rowspan="{count}">{head}' if number == start else ""
            first = ' class="g"' if number == start else ""
            parts.append(f'<tr id="L{number}"{first}>{cell}<td class="ln"><a href="#L{number}">{number}</a>'
                         f'<td class="lc">{lines_html[number - 1]}')
    parts.append("</tbody></table>")
    return "".join(parts)
