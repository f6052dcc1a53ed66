"""Open stores kept between page requests.

Opening a store is cheap, but its object reader and commit graph warm up with use: a page that
reads forty trees and blobs is several times faster on a reader that has read them before. Pages
borrow a store from the pool and give it back; one store is only ever used by one thread at a
time. Nothing cached in a store goes stale: objects and indexed commits never change (pack ids
are never reused), and refs are read from the database on every call. A store given back ends
its open reads (RepoStore.release), or its connection would keep seeing the database as it was
and miss every later push.
"""
import threading
from collections import OrderedDict
from contextlib import contextmanager

from .repo import RepoStore


class StorePool:
    def __init__(self, max_idle=16, cache_bytes=16 << 20):
        self.max_idle = max_idle
        self.cache_bytes = cache_bytes
        self._idle = OrderedDict()  # (path, serial) -> RepoStore, least recently returned first
        self._serial = 0
        self._lock = threading.Lock()

    @contextmanager
    def borrow(self, path):
        """A store for `path`, to this thread alone until the block ends."""
        path = str(path)
        store = self._take(path)
        if store is None:
            store = RepoStore.open(path, cache_bytes=self.cache_bytes)
        try:
            yield store
        except BaseException:
            store.close()  # it may be mid-transaction or broken: never hand it out again
            raise
        self._give_back(path, store)

    def forget(self, path):
        """Close every idle store of `path` (the repository was deleted or replaced)."""
        path = str(path)
        with self._lock:
            doomed = [key for key in self._idle if key[0] == path]
            stores = [self._idle.pop(key) for key in doomed]
        for store in stores:
            store.close()

    def close(self):
        with self._lock:
            stores = list(self._idle.values())
            self._idle.clear()
        for store in stores:
            store.close()

    def _take(self, path):
        with self._lock:
            for key in reversed(self._idle):
                if key[0] == path:
                    return self._idle.pop(key)
        return None

    def _give_back(self, path, store):
        store.release()
        evicted = None
        with self._lock:
            self._serial += 1
            self._idle[(path, self._serial)] = store
            if len(self._idle) > self.max_idle:
                evicted = self._idle.popitem(last=False)[1]
        if evicted is not None:
            evicted.close()


__all__ = ["StorePool"]
