import argparse
import sys

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from presessions import backup


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the help's paragraphs as written."""


class Command(BaseCommand):
    help = """Back up the database and the uploaded files together, into one .tar.gz archive (mode 0600).

The archive holds every row, portable between PostgreSQL and SQLite (data.jsonl), every file of
the uploads storage on disk or S3 (files/), and manifest.json: creation time, migrations, rows
per model, the size and SHA-256 of data.jsonl and of each file, and a fingerprint of SECRET_KEY
(never the key itself).

OUTPUT is a folder, where the archive gets a dated name (presessions-backup-YYYYMMDDTHHMMSSZ.tar.gz):
an existing folder, or a name ending in "/", which must exist (create it with
`install -d -m 700 FOLDER`); or a file name, refused if the file exists unless --overwrite is given;
or - for standard output. The archive appears under its name only once complete.

Included: staff accounts and groups, their second factors (django-otp devices and backup codes),
the audit history (django-simple-history), the admin log, the outbox, the periodic tasks as
staff set them, and all the Pre-sessions' data. Left out: content types and permissions
(recreated by migrate), sessions (everyone signs in again), django-axes' access logs and
lockouts.

The archive holds applicants' personal data: keep it encrypted and access-controlled. SECRET_KEY
is not in it: keep it separately, or the private links already sent stop working after a restore.

`manage.py restore ARCHIVE` verifies the whole archive against the manifest's SHA-256 sums before
it changes anything. These sums detect damage (a bad disk, a copy cut short), not deliberate
tampering: whoever can write the archive can rewrite its manifest too. Keep archives where only
trusted people can write, and encrypt them, e.g. `manage.py backup - | age -r RECIPIENT
> backup.tar.gz.age`; to detect tampering too, sign them (gpg --sign --encrypt) and check the
signature before restoring."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = HelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument(
            "output",
            help="The archive to write: a file (refused if it exists, unless --overwrite); a folder, existing or named "
            'with a final "/", which then must exist (the archive gets a dated name, '
            "presessions-backup-YYYYMMDDTHHMMSSZ.tar.gz); or - for standard output (for a pipe into age or gpg; "
            "a file the shell creates follows its umask).",
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace OUTPUT if it is an existing file (once the new archive is complete).",
        )

    def handle(self, *args, output, overwrite=False, **options):
        if output == "-":
            report = self.stderr  # standard output carries the archive
            manifest = backup.write_backup(sys.stdout.buffer)
            sys.stdout.buffer.flush()
            where = "standard output"
        else:
            report = self.stdout
            try:
                path, manifest = backup.backup_to_path(output, overwrite=overwrite)
            except backup.BackupError as error:
                raise CommandError(str(error)) from error
            where = str(path)
        files = manifest["files"]
        report.write(
            self.style.SUCCESS(
                f"Backup written to {where}: {manifest['rows']} rows of {sum(1 for n in manifest['models'].values() if n)} "
                f"models, {files['count']} files ({files['total_bytes']} bytes)."
            )
        )
        if files["referenced_missing"]:
            report.write(
                self.style.WARNING(
                    f"{files['referenced_missing']} file(s) that rows refer to were not in the storage "
                    f"(listed in manifest.json): {', '.join(files['referenced_missing_names'][:5])}"
                )
            )
        report.write("It holds applicants' personal data: keep it encrypted and access-controlled, and SECRET_KEY apart from it.")
