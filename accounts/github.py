"""GitHub sign-in (social-auth-app-django). Stub, being written."""


def is_enabled() -> bool:
    """Whether "Sign in with GitHub" is offered (FORGE_GITHUB_KEY and FORGE_GITHUB_SECRET set)."""
    return False


def linked_account(user):
    """The GitHub account linked to `user` (its login), or None."""
    return None
