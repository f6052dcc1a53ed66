"""Template filters for repository pages."""
from django import template

from repos.views import timefmt

register = template.Library()


@register.filter
def age(epoch):
    return timefmt.age(epoch) if epoch is not None else ""


@register.filter
def iso(epoch):
    return timefmt.iso_utc(epoch) if epoch is not None else ""


@register.filter
def local_time(epoch, tz_minutes):
    return timefmt.local_time(epoch, tz_minutes or 0)


@register.filter
def hexsha(oid):
    return oid.hex() if isinstance(oid, bytes) else oid


@register.filter
def short(oid):
    return (oid.hex() if isinstance(oid, bytes) else oid)[:7]


@register.filter
def size(n):
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


@register.filter
def mdcell(text):
    """Text safe inside one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


@register.filter
def fence(text, info=""):
    """`text` in a fenced code block whose fence is longer than any backtick run inside it."""
    text = str(text() if callable(text) else text)
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}{'' if text.endswith(chr(10)) or not text else chr(10)}{ticks}\n"
