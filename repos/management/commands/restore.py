from django.core.management.base import BaseCommand, CommandError

from repos.backup import BackupError, human_size, restore, verify_backup


class Command(BaseCommand):
    requires_system_checks = ()  # no need to import every URL module (seconds) to copy files
    help = (
        "Restore the backup in DIR into this Forge (FORGE_DATA_DIR and the main database) with Forge stopped. "
        "Checks every checksum first and changes nothing if the backup is damaged; refuses to replace "
        "existing data unless --force. Prints one line."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR")
        parser.add_argument("--force", action="store_true", help="replace the data this Forge already holds")
        parser.add_argument("--verify-only", action="store_true", help="check the backup's checksums; restore nothing")

    def handle(self, *args, directory, force, verify_only, **options):
        try:
            if verify_only:
                manifest = verify_backup(directory)
                total = sum(entry["size"] for entry in manifest["files"])
                self.stdout.write(f"backup in {directory} is intact: {len(manifest['files'])} files, {human_size(total)}, "
                                  f"taken {manifest['created_at']}")
                return
            result = restore(directory, force=force)
        except (BackupError, OSError) as error:
            raise CommandError(f"restore failed: {error}") from None
        self.stdout.write(
            f"restored {result.repositories} repositories, {result.files} files, {human_size(result.bytes)} "
            f"(main database: {result.engine}) from {result.directory} in {result.seconds:.1f} s"
        )
