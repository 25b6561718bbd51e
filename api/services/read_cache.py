"""The API's read cache: results per (org, data version, query), with a TTL and a bound on memory.

Values are Polars frames or the JSON bytes of a computed result (the cost routes keep their rows' JSON).

A read goes to the snapshot once per (org, query, data version). The version is part of the key, so results of an
older version are never served once a run has published a newer one (even one published by another process), and
this process also drops an org's entries the moment a run of it completes here (``cloudact.read_cache``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cloudact import read_cache


@dataclass
class CacheStats:
    """Counters, for tests and the benchmark."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidations: int = 0


@dataclass
class FrameCache:
    """LRU of Polars frames bounded by their estimated size; entries also expire after ``ttl_seconds``."""

    max_bytes: int
    ttl_seconds: float
    stats: CacheStats = field(default_factory=CacheStats)
    _entries: OrderedDict[tuple[Any, ...], tuple[Any, int, float]] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[Any, ...]) -> Any:
        """The cached frame, if present and fresh."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[2] < time.monotonic():
                if entry is not None:
                    self._drop(key)
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry[0]

    def put(self, key: tuple[Any, ...], frame: pl.DataFrame | bytes) -> None:
        """Keep a value, evicting the least recently used ones beyond the memory bound."""
        size = max(len(frame) if isinstance(frame, bytes) else int(frame.estimated_size()), 1)
        if size > self.max_bytes:
            return  # bigger than the whole cache: serve it, do not keep it
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (frame, size, time.monotonic() + self.ttl_seconds)
            self._bytes += size
            while self._bytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)
                self.stats.evictions += 1

    def drop_org(self, org_slug: str) -> None:
        """Forget every result of one org."""
        with self._lock:
            for key in [key for key in self._entries if key[0] == org_slug]:
                self._drop(key)
            self.stats.invalidations += 1

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Estimated bytes held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: tuple[Any, ...]) -> None:
        _, size, _ = self._entries.pop(key)
        self._bytes -= size


_CACHES: dict[tuple[int, float], FrameCache] = {}
_GUARD = threading.Lock()


def get_cache(max_mb: float, ttl_seconds: float) -> FrameCache:
    """The process's cache for these limits (registered for run-completion invalidation once)."""
    key = (int(max_mb * 1024 * 1024), ttl_seconds)
    with _GUARD:
        if key not in _CACHES:
            cache = FrameCache(key[0], ttl_seconds)
            read_cache.on_invalidate(cache.drop_org)
            _CACHES[key] = cache
        return _CACHES[key]
