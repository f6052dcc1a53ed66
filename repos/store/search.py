"""Store-level code search (issue 6): the public API. The index lives in search_index.py (layout
described there), queries in search_query.py (syntax described there).

After a push lands on the default branch: `sync_index(store)` (or `update_index(store, old, new)`
then `index_commits(store)`); then `search_code(store, parse_query(text))` or `search_commits(...)`
depending on `query.kind`.
"""
from .search_index import (IndexStats, ensure_schema, index_commits, index_stats, indexed_commit,
                           needs_sync, rebuild_index, sync_index, update_index)
from .search_query import (CodeResults, CommitHit, CommitResults, FileHit, LineHit, Query, parse_query,
                           search_code, search_commits)

__all__ = ["IndexStats", "ensure_schema", "index_commits", "index_stats", "indexed_commit", "needs_sync", "rebuild_index",
           "sync_index", "update_index", "CodeResults", "CommitHit", "CommitResults", "FileHit", "LineHit",
           "Query", "parse_query", "search_code", "search_commits"]
