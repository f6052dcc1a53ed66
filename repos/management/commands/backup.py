from django.core.management.base import BaseCommand, CommandError

from repos.backup import BackupError, backup, human_size


class Command(BaseCommand):
    requires_system_checks = ()  # no need to import every URL module (seconds) to copy files
    help = (
        "Back up Forge into DIR (created; refused if not empty): the main database first (SQLite backup API, "
        "or pg_dump), then every repository store it lists, the secret key and uploads, and a manifest of "
        "checksums. Safe while Forge serves and accepts pushes. Prints one line."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR")
        parser.add_argument("--full-check", action="store_true",
                            help="check each copy with PRAGMA integrity_check (slower) instead of quick_check")

    def handle(self, *args, directory, full_check, **options):
        try:
            result = backup(directory, check="full" if full_check else "quick")
        except (BackupError, OSError) as error:
            raise CommandError(f"backup failed: {error}") from None
        for name in result.missing_stores:
            self.stderr.write(f"warning: the store of {name} is missing; the backup holds its row only")
        self.stdout.write(
            f"backed up {result.repositories} repositories, {result.files} files, {human_size(result.bytes)} "
            f"(main database: {result.engine}) to {result.directory} in {result.seconds:.1f} s"
        )
        if result.missing_stores:
            raise CommandError(f"{len(result.missing_stores)} repository store(s) were missing")

