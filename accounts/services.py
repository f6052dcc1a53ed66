"""Changing accounts. Agent tokens have their own module, accounts.tokens."""
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts.selectors import get_user

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")

# Names that are, or will be, top-level paths of the site (/OWNER lives next to them).
RESERVED_USERNAMES = frozenset(
    {
        "login", "logout", "signup", "settings", "new", "api", "static", "admin", "explore", "-",
        "about", "help", "search", "assets", "media", "health", "metrics", "favicon.ico",
        "robots.txt", "repos", "users", "orgs", "oauth",
    }
)  # fmt: skip


def validate_username(name: str) -> None:
    """ValueError saying why `name` cannot be a user name (format and reserved words; not uniqueness)."""
    if not isinstance(name, str) or not USERNAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid user name {name!r}: 1 to 39 letters, digits or hyphens, starting with a letter or digit"
        )
    if name.lower() in RESERVED_USERNAMES:
        raise ValueError(f"the user name {name!r} is reserved")


def create_user(name: str, email: str = "", password: str | None = None, admin: bool = False):
    """A new local account. Without a password it cannot sign in with one (tokens or OAuth only)."""
    validate_username(name)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(f"invalid email address {email!r}") from None
    if get_user(name) is not None:
        raise ValueError(f"the user name {name!r} is taken")
    User = get_user_model()
    user = User(username=name, email=email, is_staff=admin, is_superuser=admin)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Someone took the name (in another letter case) between the check and the insert.
        raise ValueError(f"the user name {name!r} is taken") from None
    return user


def signup_open() -> bool:
    """Whether the sign-up form takes new accounts: FORGE_SIGNUP=open (the default), or, when it is
    closed, still for the very first account, so a fresh install can be set up from the browser."""
    if settings.FORGE_SIGNUP == "open":
        return True
    return not get_user_model().objects.exists()


def register_user(name: str, email: str = "", password: str | None = None):
    """An account made by signing up (a form or GitHub): the site's first account becomes its admin,
    so a fresh install needs no command line to be administered."""
    User = get_user_model()
    with transaction.atomic():
        first = not User.objects.exists()
        return create_user(name, email=email, password=password, admin=first)


def change_email(user, email: str) -> None:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(f"invalid email address {email!r}") from None
    user.email = email
    user.save(update_fields=["email"])
