from django.core.management.base import BaseCommand, CommandError

from accounts.scopes import ALL_SCOPES, DEFAULT_TOKEN_SCOPES
from accounts.selectors import get_user
from accounts.tokens import issue_token


class Command(BaseCommand):
    help = "Create an agent token owned by a user. Prints the token alone, on one line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the user who owns the token")
        parser.add_argument("--label", required=True, help="what the token is for")
        parser.add_argument(
            "--scopes",
            default=",".join(DEFAULT_TOKEN_SCOPES),
            help=f"comma-separated, from: {','.join(ALL_SCOPES)} (default: %(default)s)",
        )
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, name, label, scopes, expires_days, **options):
        user = get_user(name)
        if user is None:
            raise CommandError(f"no user called {name!r}")
        try:
            _token, plaintext = issue_token(user, label, scopes, expires_days=expires_days)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(plaintext)
