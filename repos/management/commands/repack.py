from django.core.management.base import BaseCommand, CommandError

from repos.models import Repository
from repos.selectors import get_repository
from repos.services import repack_repository
from repos.store.repack import RepackAbandoned


class Command(BaseCommand):
    help = (
        "Repack repositories: copy every reachable object into one pack and drop the rest. "
        "Safe while Forge serves; prints one line per repository."
    )

    def add_arguments(self, parser):
        parser.add_argument("full_names", metavar="OWNER/NAME", nargs="*")
        parser.add_argument("--all", action="store_true", help="every repository")

    def handle(self, *args, full_names, all, **options):
        if all == bool(full_names):
            raise CommandError("name repositories as OWNER/NAME, or pass --all")
        if all:
            repos = Repository.objects.select_related("owner").order_by("id")
        else:
            repos = []
            for full_name in full_names:
                owner, _, name = full_name.partition("/")
                repo = get_repository(owner, name)
                if repo is None:
                    raise CommandError(f"no repository {full_name!r}")
                repos.append(repo)
        for repo in repos:
            label = f"{repo.owner.username}/{repo.name}"
            try:
                result = repack_repository(repo)
            except RepackAbandoned as error:
                self.stdout.write(f"{label}: not repacked ({error}); try again")
                continue
            if result is None:
                self.stdout.write(f"{label}: a repack is already running")
            else:
                self.stdout.write(f"{label}: kept {result[0]} objects, dropped {result[1]}")
