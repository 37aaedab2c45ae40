from django.core.management.base import BaseCommand, CommandError

from presessions import backup

from .backup import HelpFormatter


class Command(BaseCommand):
    help = """Restore a backup made by `manage.py backup` into an EMPTY database and its uploads storage.

Before anything changes, reads the whole archive and checks it against its manifest.json: the size
and SHA-256 of data.jsonl and of every file, every member under files/ (no "..", no absolute name,
no link), none missing and none unlisted; then that every row parses, is of a model this code
has, and that the rows per model are the manifest's. Refuses, changing nothing: an archive that
cannot be read (make it readable by the user running restore, e.g. chown presessions ARCHIVE); a
damaged, truncated or foreign archive; a backup whose migrations differ from this code's (restore
with the version that made it, then upgrade); a database that already has data (only what
`migrate` creates is allowed); a storage with a file of a backup's name but other content.

Then: runs migrate, replaces what migrate created (groups, periodic tasks and their schedules) by
the backup's, loads every row in one transaction (staff, second factors, audit history, admin log,
outbox, periodic tasks as staff left them, all the Pre-sessions' data), resets PostgreSQL's
sequences, and puts the files back through the uploads storage (disk or S3), checking each one's
SHA-256 again (a file that fails is left out and reported, exit status 1; --files-only retries).
Sessions and django-axes' access logs and lockouts are not in a backup.

The SHA-256 sums detect damage (a bad disk, a copy cut short), not deliberate tampering: whoever
can write the archive can rewrite its manifest too. Keep archives where only trusted people can
write, encrypt them (age, gpg) and sign them (gpg --sign), checking the signature before a
restore; decrypt into a file readable by the user running restore.

Warns when SECRET_KEY differs from the backed-up site's: the private links already sent would
stop working. Stop the web servers and workers while restoring."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = HelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument(
            "archive", help="The .tar.gz written by `manage.py backup` (a file readable by the user running restore)."
        )
        parser.add_argument(
            "--files-only",
            action="store_true",
            help="Put back only the files (after a restore whose files step failed); the database is left alone.",
        )

    def handle(self, *args, archive, files_only=False, **options):
        try:
            report = backup.restore(archive, files_only=files_only)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        manifest = report["manifest"]
        self.stdout.write(f"Backup of {manifest['created_at']} ({manifest['database_vendor']}).")
        if not files_only:
            self.stdout.write(self.style.SUCCESS(f"Database restored: {report['rows']} rows of {report['models']} models."))
            if report["stale_natural_keys"]:
                self.stdout.write(
                    f"{report['stale_natural_keys']} content type(s) or permission(s) of models removed since were recreated."
                )
        self.stdout.write(
            self.style.SUCCESS(f"Files restored: {report['files_restored']}; already present: {report['files_present']}.")
        )
        if report["files_taken"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(report['files_taken'])} file(s) appeared in the storage during the restore and were left "
                    f"as they are: {', '.join(report['files_taken'][:10])}"
                )
            )
        missing = manifest["files"]["referenced_missing"]
        if missing:
            self.stdout.write(
                self.style.WARNING(f"{missing} file(s) that rows refer to were already missing when the backup was made.")
            )
        if report["secret_key_warning"]:
            self.stdout.write(self.style.WARNING(report["secret_key_warning"]))
        if report["files_damaged"]:
            damaged = report["files_damaged"]
            raise CommandError(
                f"{len(damaged)} file(s) are damaged in the archive and were not put back "
                f"(they do not match their SHA-256 in the manifest): {', '.join(damaged[:10])}"
            )
