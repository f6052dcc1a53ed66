"""One SQLite file per repository: objects (as stored packs), refs, commit index. No Django imports."""
from .repo import RepoStore

__all__ = ["RepoStore"]
