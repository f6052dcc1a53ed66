"""Commit times as people read them: ages ("3 days ago") and dates in the committer's zone."""
import time
from datetime import datetime, timedelta, timezone

_UNITS = [(365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
          (3600, "hour"), (60, "minute")]


def age(epoch, now=None):
    seconds = int((now if now is not None else time.time()) - epoch)
    ahead, seconds = seconds < 0, abs(seconds)
    for size, unit in _UNITS:
        if seconds >= size:
            n = seconds // size
            amount = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {amount}" if ahead else f"{amount} ago"
    return "just now"


def tz_offset(minutes):
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def local_time(epoch, tz_minutes):
    """'2024-03-01 14:02:11 +0100', as git log shows a date in its own zone."""
    zone = timezone(timedelta(minutes=tz_minutes))
    return datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S ") + tz_offset(tz_minutes)


def iso_utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
