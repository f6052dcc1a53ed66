"""A process-wide cache for what pages compute from content addressed by object id.

Highlighted files, blame tables, diffs, rendered READMEs and tree listings with their last
commits depend only on commit, tree or blob ids (plus the repository, for links), so an entry
never goes stale; it is only ever evicted, least recently used first, within a byte budget.
"""
import threading

from repos.store.objects import ByteLRU

_BUDGET = 96 << 20
_cache = ByteLRU(_BUDGET)
_lock = threading.Lock()


def cached(key, build, size=None):
    """build() once per key; `size` (value -> bytes) defaults to len(value)."""
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit[0]
    value = build()
    with _lock:
        _cache.put(key, value, size(value) if size else _approximate_size(value))
    return value


def _approximate_size(value):
    if isinstance(value, (str, bytes)):
        return len(value) + 64
    if isinstance(value, (list, tuple)):
        return 64 + sum(_approximate_size(v) for v in value[:64]) * max(1, len(value)) // max(1, min(len(value), 64))
    if isinstance(value, dict):
        return 64 + sum(_approximate_size(k) + _approximate_size(v) for k, v in list(value.items())[:64]) \
            * max(1, len(value)) // max(1, min(len(value), 64))
    return 256
