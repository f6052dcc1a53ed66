"""Who is making a request: a signed-in user, an agent holding a token, or nobody.

Every request is resolved to exactly one Actor (accounts.middleware) before any view runs; views
and access checks look only at `request.actor`. No Django imports.
"""
from dataclasses import dataclass, field

from accounts.scopes import ALL_SCOPES, expand_scopes, format_scopes

USER = "user"
AGENT = "agent"
ANONYMOUS_KIND = "anonymous"
KINDS = (USER, AGENT, ANONYMOUS_KIND)


@dataclass(frozen=True)
class Actor:
    kind: str
    # For an agent: the id and username of the user who owns the token, because an agent acts
    # with its owner's identity for ownership checks, limited by its scopes.
    user_id: int | None = None
    name: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)
    owner: str = ""
    token_id: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown actor kind {self.kind!r}")

    @property
    def is_anonymous(self) -> bool:
        return self.kind == ANONYMOUS_KIND

    @property
    def is_agent(self) -> bool:
        return self.kind == AGENT

    @property
    def is_user(self) -> bool:
        return self.kind == USER

    def has_scope(self, scope: str) -> bool:
        if self.kind == USER:
            return True
        if self.kind == AGENT:
            return scope in expand_scopes(self.scopes)
        return False

    def header_values(self) -> dict[str, str]:
        """The X-Forge-Actor-* header values (by suffix) that carry this actor onward."""
        return {
            "ID": "" if self.user_id is None else str(self.user_id),
            "NAME": self.name,
            "KIND": self.kind,
            "SCOPES": format_scopes(self.scopes),
            "OWNER": self.owner,
        }


ANONYMOUS = Actor(kind=ANONYMOUS_KIND)


def user_actor(user) -> Actor:
    """A user signed in through the web session: every scope."""
    return Actor(kind=USER, user_id=user.pk, name=user.username, scopes=frozenset(ALL_SCOPES))


def agent_actor(user, scopes, token_id: int | None = None) -> Actor:
    """An agent acting for `user`, limited to `scopes`."""
    return Actor(
        kind=AGENT,
        user_id=user.pk,
        name=user.username,
        scopes=expand_scopes(scopes),
        owner=user.username,
        token_id=token_id,
    )
