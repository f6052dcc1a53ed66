"""What an agent token may do. No Django imports: the actor and the git layer both use it."""
from collections.abc import Iterable

REPO_READ = "repo:read"
REPO_WRITE = "repo:write"
ISSUES_WRITE = "issues:write"
PULLS_MERGE = "pulls:merge"
ADMIN = "admin"

# In this order everywhere they are shown or stored.
ALL_SCOPES = (REPO_READ, REPO_WRITE, ISSUES_WRITE, PULLS_MERGE, ADMIN)
DEFAULT_TOKEN_SCOPES = (REPO_READ, REPO_WRITE)

# Pushing without being able to fetch is useless, so the one implies the other; so is changing
# the settings of a repository one may not see.
IMPLIED = {REPO_WRITE: frozenset({REPO_READ}), ADMIN: frozenset({REPO_READ})}


def parse_scopes(value: str | Iterable[str]) -> frozenset[str]:
    """Scopes from "a,b", "a b" or an iterable; ValueError on a scope that does not exist."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    scopes = frozenset(scope.strip() for scope in value if scope.strip())
    unknown = scopes - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scope {', '.join(sorted(unknown))} (known: {', '.join(ALL_SCOPES)})")
    return scopes


def expand_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes plus those they imply."""
    expanded = set(scopes)
    for scope in list(expanded):
        expanded |= IMPLIED.get(scope, frozenset())
    return frozenset(expanded)


def format_scopes(scopes: Iterable[str]) -> str:
    """Space-separated, in the canonical order (unknown scopes are dropped)."""
    present = set(scopes)
    return " ".join(scope for scope in ALL_SCOPES if scope in present)
