"""
Backup and restore of the whole site: every row of the database and every uploaded file, in one archive.

The archive is a .tar.gz, written with mode 0600 (it holds applicants' personal data):

- `data.jsonl`: the rows, one JSON object a line (Django's "jsonl" serializer), so a backup made
  on PostgreSQL restores into SQLite and back. Rows keep their primary keys; content types and
  permissions, which `migrate` creates with other ids in each database, are named by natural key.
- `files/<name>`: every file of the uploads storage (`default_storage`, on disk or S3), under its
  storage name, whether a row still refers to it or not.
- `manifest.json` (last, so the backup reads every row and file once): format version, creation
  time, the migrations applied per app, the rows per model, each file's size and SHA-256, and a
  fingerprint of SECRET_KEY (an HMAC of a fixed text, never the key).

Left out: content types and permissions (recreated by `migrate`), sessions (everyone signs in
again), django-axes' access logs and lockouts, and django-celery-beat's change marker. Kept: staff
accounts with their second factors (django-otp devices), groups, the audit history
(django-simple-history), the admin log, the outbox and the periodic tasks as staff set them.

A restore first reads the whole archive once and verifies it, before anything changes: every
member against its size and SHA-256 in the manifest (data.jsonl and every file), no member outside
`files/`, no link, nothing missing and nothing unlisted; then that every row parses, is of a model
the code has, and that the rows per model are the manifest's. These sums detect damage (a bad disk,
a copy cut short), not deliberate tampering: whoever can write an archive can rewrite its manifest.

A restore goes only into an empty database with the same migrations as the code: it runs
`migrate`, replaces the rows `migrate` creates (groups, periodic tasks and their schedules) with
the backup's, loads every row in one transaction, resets PostgreSQL's sequences, then puts the
files back through `default_storage`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import hmac
import io
import json
import os
import pwd
import tarfile
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers import jsonl
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils.encoding import force_bytes
from simple_history.models import HistoricalChanges

FORMAT = "presessions-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.jsonl"
FILES = "files/"

# What a backup leaves out, and why (the commands' help says the same).
SKIPPED_APPS = {
    "contenttypes": "recreated by migrate",
    "sessions": "sign-ins: everyone signs in again",
    "axes": "access logs and lockouts of failed sign-ins",
}
SKIPPED_MODELS = {
    "auth.permission": "recreated by migrate",
    "django_celery_beat.periodictasks": "a marker of the last change, set again after a restore",
}
# Tables that `migrate` fills in an empty database: a restore replaces their rows by the backup's,
# so that it ends with the backup's groups and periodic tasks (paused or retimed as staff left them).
MIGRATE_FILLS_APPS = {"django_celery_beat"}
MIGRATE_FILLS_MODELS = {"auth.group"}
# Rows that `migrate` creates with other ids in each database: named by natural key in the data.
BY_NATURAL_KEY = {"contenttypes.contenttype", "auth.permission"}

MANIFEST_MAX_BYTES = 64 * 1024 * 1024  # a manifest lists files: a few hundred bytes each
SPOOL_BYTES = 32 * 1024 * 1024  # an upload is at most 10 MB: files are spooled in memory below this
CHUNK = 1024 * 1024
SECRET_KEY_MESSAGE = b"presessions backup: the SECRET_KEY that signed the private links"


class BackupError(Exception):
    """A backup that cannot be made or restored, with a message for the operator."""


# What reading a damaged or truncated .tar.gz raises (gzip.BadGzipFile is an OSError).
READ_ERRORS = (EOFError, OSError, gzip.BadGzipFile, zlib.error, tarfile.TarError)


def _damaged(error) -> BackupError:
    return BackupError(f"The archive is damaged or incomplete: {str(error) or type(error).__name__}. Nothing was changed.")


# --- What is backed up --------------------------------------------------------------------------


def backed_up_models() -> list[type[models.Model]]:
    """Every model whose rows go into a backup, in dependency order (many-to-many tables go with their models)."""
    by_app: dict = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.app_label in SKIPPED_APPS or meta.label_lower in SKIPPED_MODELS:
            continue
        by_app.setdefault(meta.app_config, []).append(model)
    return serializers.sort_dependencies(by_app.items(), allow_cycles=True)


def filled_by_migrate(model) -> bool:
    return model._meta.app_label in MIGRATE_FILLS_APPS or model._meta.label_lower in MIGRATE_FILLS_MODELS


class _ExactEncoder(DjangoJSONEncoder):
    """Django's encoder keeps milliseconds only: a backup keeps every microsecond of a time."""

    def default(self, o):
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class _Serializer(jsonl.Serializer):
    """Django's JSON Lines, with natural keys only for what `migrate` numbers differently in each database."""

    def _natural(self, field) -> bool:
        return field.remote_field.model._meta.label_lower in BY_NATURAL_KEY

    def handle_fk_field(self, obj, field):
        self.use_natural_foreign_keys = self._natural(field)
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj, field):
        self.use_natural_foreign_keys = self._natural(field)
        super().handle_m2m_field(obj, field)


def secret_key_fingerprint(key) -> str:
    """An HMAC of a fixed text with `key`: tells two keys apart, reveals nothing of either."""
    return hmac.new(force_bytes(key), SECRET_KEY_MESSAGE, hashlib.sha256).hexdigest()


def applied_migrations() -> dict[str, list[str]]:
    """The migrations applied to the database, per app (only those the code has)."""
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(set(MigrationRecorder(connection).applied_migrations()) & on_disk):
        applied.setdefault(app_label, []).append(name)
    return applied


def storage_names(storage=None, path: str = ""):
    """Every file name in `storage`, walking its folders through the Storage API (disk and S3 alike)."""
    storage = storage or default_storage
    try:
        folders, files = storage.listdir(path)
    except FileNotFoundError:
        if path:
            raise
        return  # nothing was ever uploaded: the storage's folder does not exist yet
    for name in sorted(files):
        yield f"{path}/{name}" if path else name
    for folder in sorted(folders):
        yield from storage_names(storage, f"{path}/{folder}" if path else folder)


def referenced_files() -> set[str]:
    """The file names that current rows refer to (the audit history's older names are not counted)."""
    names: set[str] = set()
    for model in backed_up_models():
        if issubclass(model, HistoricalChanges):
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                names.update(model._base_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True).distinct())
    names.discard(None)
    return names


# --- Backup -------------------------------------------------------------------------------------


class _Hashing:
    """A file object's reader that counts and hashes what is read through it."""

    def __init__(self, fileobj):
        self.fileobj, self.sha256, self.size = fileobj, hashlib.sha256(), 0

    def read(self, size=-1):
        chunk = self.fileobj.read(size)
        self.sha256.update(chunk)
        self.size += len(chunk)
        return chunk


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def _add(tar: tarfile.TarFile, name: str, fileobj, size: int, mtime: float) -> dict:
    reader = _Hashing(fileobj)
    tar.addfile(_member(name, size, mtime), reader)
    return {"size": reader.size, "sha256": reader.sha256.hexdigest()}


def _dump_rows(stream) -> Counter:
    """Write every row to `stream` (text), model by model; return the rows per model."""
    counts: Counter = Counter()
    for model in backed_up_models():
        label = model._meta.label
        counts[label] = 0
        m2m = [f.name for f in model._meta.many_to_many if f.remote_field.through._meta.auto_created]
        queryset = model._base_manager.order_by(model._meta.pk.name).prefetch_related(*m2m)

        def rows(queryset=queryset, label=label):
            for row in queryset.iterator(chunk_size=1000):
                counts[label] += 1
                yield row

        _Serializer().serialize(rows(), stream=stream, cls=_ExactEncoder)
    return counts


def write_backup(out, *, temp_dir=None) -> dict:
    """
    Write a backup of the database and of `default_storage` to `out` (a binary file object, which
    need not be seekable); return its manifest.
    """
    started = time.time()
    outermost = not connection.in_atomic_block
    with tempfile.TemporaryFile(dir=temp_dir) as data:
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                # One snapshot for every table, so that the rows agree with each other while the site runs on.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            text = io.TextIOWrapper(data, encoding="utf-8", newline="\n")
            counts = _dump_rows(text)
            text.flush()
            text.detach()  # leaves `data` open
            migrations = applied_migrations()
            referenced = referenced_files()
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "django_version": django.get_version(),
            "database_vendor": connection.vendor,
            "migrations": {
                "latest": {app_label: names[-1] for app_label, names in migrations.items()},
                "applied": migrations,
            },
            "models": dict(counts),
            "rows": sum(counts.values()),
            "left_out": {**{f"{app}.*": why for app, why in SKIPPED_APPS.items()}, **SKIPPED_MODELS},
            "secret_key_fingerprint": secret_key_fingerprint(settings.SECRET_KEY),
        }
        data_size = data.tell()
        data.seek(0)
        with tarfile.open(fileobj=out, mode="w|gz") as tar:
            manifest["data"] = {"name": DATA, **_add(tar, DATA, data, data_size, started)}
            # Files are read after the rows: one uploaded meanwhile is kept, one deleted meanwhile is reported missing.
            files = []
            for name in storage_names():
                with default_storage.open(name, "rb") as source, tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=temp_dir) as copy:
                    while chunk := source.read(CHUNK):
                        copy.write(chunk)
                    size = copy.tell()
                    copy.seek(0)
                    files.append({"name": name, **_add(tar, FILES + name, copy, size, started)})
            missing = sorted(referenced - {f["name"] for f in files})
            manifest["files"] = {
                "storage": settings.STORAGES["default"]["BACKEND"],
                "count": len(files),
                "total_bytes": sum(f["size"] for f in files),
                "referenced": len(referenced),
                "referenced_missing": len(missing),
                "referenced_missing_names": missing[:50],
                "items": files,
            }
            body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            tar.addfile(_member(MANIFEST, len(body), started), io.BytesIO(body))
    return manifest


def default_name() -> str:
    return f"presessions-backup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.tar.gz"


def _is_folder_name(text: str) -> bool:
    return text.endswith("/") or text.endswith(os.sep) or bool(os.altsep and text.endswith(os.altsep))


def _install_hint(folder) -> str:
    return f"create it with `install -d -m 700 {folder}` (as the user running backup)"


def _publish(partial: str, path: Path, *, overwrite: bool) -> None:
    """Give the complete archive its name; without `overwrite`, never over an existing file."""
    if overwrite:
        os.replace(partial, path)
        return
    try:
        os.link(partial, path)  # fails if the name exists, even if it appeared during the backup
    except FileExistsError as error:
        raise BackupError(f"{path} already exists (it appeared during the backup): left as it was.") from error
    except OSError:  # a file system without hard links
        if path.exists() or path.is_symlink():
            raise BackupError(f"{path} already exists (it appeared during the backup): left as it was.") from None
        os.replace(partial, path)


def backup_to_path(output, *, overwrite: bool = False) -> tuple[Path, dict]:
    """
    Write a backup to `output` with mode 0600: a file, or a folder (an existing one, or a name
    ending in "/") where the archive gets a dated name. Refuse an existing file unless `overwrite`.
    The archive appears under its name only once complete. Return the path and the manifest.
    """
    text = os.fspath(output)
    path = Path(text)
    if _is_folder_name(text) and not path.is_dir():
        if path.exists():
            raise BackupError(f"{text} is not a folder.")
        raise BackupError(f"The folder {text} does not exist; {_install_hint(text)}.")
    if path.is_dir():
        path = path / default_name()
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist; {_install_hint(path.parent)}.")
    if path.is_dir():
        raise BackupError(f"{path} is a folder.")
    if not overwrite and (path.exists() or path.is_symlink()):
        raise BackupError(
            f"{path} already exists: give --overwrite to replace it, or give a folder (the archive then gets a dated name)."
        )
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)  # mode 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            manifest = write_backup(out, temp_dir=path.parent)
            out.flush()
            os.fsync(out.fileno())
        _publish(partial, path, overwrite=overwrite)
    finally:
        Path(partial).unlink(missing_ok=True)
    os.chmod(path, 0o600)
    return path, manifest


# --- Restore ------------------------------------------------------------------------------------


def parse_manifest(body: bytes | None) -> dict:
    """The manifest, checked for its format and the fields a restore relies on."""
    if body is None:
        raise BackupError(
            "The archive is damaged or incomplete, or it is not a backup of this site: it has no manifest.json "
            "(written last, so an archive cut short lacks it). Nothing was changed."
        )
    try:
        manifest = json.loads(body)
    except ValueError as error:
        raise BackupError(
            f"The archive is damaged: its manifest.json is not valid JSON ({error}). Nothing was changed."
        ) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("This is not a backup of this site (unknown format). Nothing was changed.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"This backup has format version {manifest.get('format_version')}; this code reads version {FORMAT_VERSION}."
        )

    def digest(entry) -> bool:
        return (
            isinstance(entry, dict)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str)
            and len(entry["sha256"]) == 64
        )

    files = manifest.get("files")
    migrations = manifest.get("migrations")
    well_formed = (
        digest(manifest.get("data"))
        and isinstance(manifest.get("created_at"), str)
        and isinstance(manifest.get("database_vendor"), str)
        and isinstance(manifest.get("models"), dict)
        and all(isinstance(n, int) for n in manifest["models"].values())
        and isinstance(migrations, dict)
        and isinstance(migrations.get("applied"), dict)
        and all(isinstance(names, list) for names in migrations["applied"].values())
        and isinstance(files, dict)
        and isinstance(files.get("items"), list)
        and all(digest(item) and isinstance(item.get("name"), str) for item in files["items"])
        and isinstance(files.get("referenced_missing", 0), int)
    )
    if not well_formed:
        raise BackupError("The archive is damaged: its manifest.json lacks fields a restore needs. Nothing was changed.")
    return manifest


def safe_file_name(name: str) -> bool:
    """A relative storage name with no "..", "." or empty part (nothing that could leave the storage's folder)."""
    return bool(name) and "\\" not in name and "\x00" not in name and all(part not in {"", ".", ".."} for part in name.split("/"))


def _outside(name: str) -> BackupError:
    return BackupError(f"The archive holds a file name outside files/: {name!r}. Nothing was changed.")


def _shown(names, limit: int = 10) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _digest_of(fileobj) -> dict:
    sha256, size = hashlib.sha256(), 0
    while chunk := fileobj.read(CHUNK):
        sha256.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": sha256.hexdigest()}


def _scan(tar: tarfile.TarFile) -> tuple[dict[str, dict], bytes | None]:
    """
    Read the archive once, from start to end: each member's size and SHA-256, and the manifest's
    bytes. Reading the compressed stream to its end checks its length and CRC too.
    """
    found: dict[str, dict] = {}
    manifest = None
    try:
        for member in tar:
            name = member.name
            if name in found or (name == MANIFEST and manifest is not None):
                raise BackupError(f"The archive is damaged: it holds {name} twice. Nothing was changed.")
            in_files = name.startswith(FILES) and safe_file_name(name.removeprefix(FILES).rstrip("/"))
            if member.isdir() and (in_files or name.rstrip("/") == FILES.rstrip("/")):
                continue  # a folder entry, as `tar` adds when an archive is packed again
            if name not in {MANIFEST, DATA} and not in_files:
                raise _outside(name)
            if not member.isreg():
                raise BackupError(
                    f"The archive holds {name}, which is not a regular file (a link or a device). Nothing was changed."
                )
            if name == MANIFEST:
                if member.size > MANIFEST_MAX_BYTES:
                    raise BackupError(f"The archive is damaged: its manifest.json is {member.size} bytes. Nothing was changed.")
                manifest = tar.extractfile(member).read()
            else:
                found[name] = _digest_of(tar.extractfile(member))
        while tar.fileobj.read(CHUNK):  # what follows the last member, up to the gzip trailer
            pass
    except READ_ERRORS as error:
        raise _damaged(error) from error
    return found, manifest


def verify_archive(tar: tarfile.TarFile) -> dict:
    """
    Read the whole archive and check it against its manifest before anything changes; return the
    manifest. Every member must be listed, of its size and SHA-256 (data.jsonl and every file), under
    files/ and a plain file; every listed member must be there.
    """
    found, body = _scan(tar)
    manifest = parse_manifest(body)
    expected = {DATA: manifest["data"]}
    for item in manifest["files"]["items"]:
        if not safe_file_name(item["name"]):
            raise _outside(FILES + item["name"])
        if FILES + item["name"] in expected:
            raise BackupError(f"The archive is damaged: its manifest lists {item['name']} twice. Nothing was changed.")
        expected[FILES + item["name"]] = item
    if missing := [name for name in expected if name not in found]:
        raise BackupError(
            f"The archive is damaged or incomplete: {len(missing)} member(s) of its manifest are missing: "
            f"{_shown(missing)}. Nothing was changed."
        )
    if unlisted := [name for name in found if name not in expected]:
        raise BackupError(
            f"The archive is damaged or was altered: {len(unlisted)} member(s) are not in its manifest: "
            f"{_shown(unlisted)}. Nothing was changed."
        )
    differ = [
        name
        for name, entry in expected.items()
        if (found[name]["size"], found[name]["sha256"]) != (entry["size"], entry["sha256"])
    ]
    if differ:
        raise BackupError(
            f"The archive is damaged: {len(differ)} member(s) do not match their size and SHA-256 in the manifest: "
            f"{_shown(differ)}. Nothing was changed."
        )
    return manifest


def _listed(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(f"{app_label}.{name}" for app_label, name in keys[:10])
    return shown + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")


def check_migrations(manifest: dict) -> None:
    """Refuse a backup whose migrations differ from the code's: its rows would not fit the tables."""
    in_backup = {(app_label, name) for app_label, names in manifest["migrations"]["applied"].items() for name in names}
    on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = in_backup - set(on_disk)
    if unknown:
        raise BackupError(
            f"This backup was made by a newer version of the application: this code does not have the "
            f"migrations {_listed(unknown)}. Install the version that made the backup (or a later one), then restore."
        )
    replaced = {tuple(old): key for key, migration in on_disk.items() for old in migration.replaces or ()}
    missing = [
        key
        for key, migration in on_disk.items()
        if key not in in_backup
        and not (migration.replaces and all(tuple(old) in in_backup for old in migration.replaces))
        and replaced.get(key) not in in_backup
    ]
    if missing:
        raise BackupError(
            f"This backup was made by an older version of the application: it lacks the migrations "
            f"{_listed(missing)}. Restore it with the version that made it (manifest.json lists its migrations), "
            "then upgrade and run `manage.py migrate` as for any deployment."
        )


def rows_in_database() -> dict[str, int]:
    """Rows of the site's data already in this database (not counting what `migrate` creates)."""
    tables = set(connection.introspection.table_names())
    found = {}
    for model in backed_up_models():
        if filled_by_migrate(model) or model._meta.db_table not in tables:
            continue
        if model._base_manager.exists():
            found[model._meta.label] = model._base_manager.count()
    return found


def secret_key_warning(manifest: dict) -> str | None:
    """A warning when this site's SECRET_KEY is not the one of the backup's site, else None."""
    theirs = manifest.get("secret_key_fingerprint")
    if theirs == secret_key_fingerprint(settings.SECRET_KEY):
        return None
    if any(theirs == secret_key_fingerprint(key) for key in getattr(settings, "SECRET_KEY_FALLBACKS", [])):
        return (
            "This site's SECRET_KEY is not the one of the backed-up site, which is in SECRET_KEY_FALLBACKS: "
            "private links already sent keep working, and new ones use the new key."
        )
    return (
        "WARNING: this site's SECRET_KEY differs from the backed-up site's. The private links already sent "
        "to applicants and speakers (signed with the old key) will not open. Set SECRET_KEY to the old key, "
        "or keep the old key in SECRET_KEY_FALLBACKS."
    )


def _spool_member(tar, member_name: str, expected: dict, temp_dir=None):
    """The archive member in a temporary file, checked against its size and SHA-256 in the manifest."""
    copy = tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=temp_dir)
    sha256 = hashlib.sha256()
    try:
        source = tar.extractfile(tar.getmember(member_name))
        while chunk := source.read(CHUNK):
            sha256.update(chunk)
            copy.write(chunk)
    except KeyError as error:
        copy.close()
        raise BackupError(f"The backup is incomplete: {member_name} is missing.") from error
    except READ_ERRORS as error:
        copy.close()
        raise BackupError(f"The archive is damaged or incomplete: {member_name} could not be read ({error}).") from error
    if (copy.tell(), sha256.hexdigest()) != (expected["size"], expected["sha256"]):
        copy.close()
        raise BackupError(f"The backup is damaged: {member_name} does not match its size and SHA-256 in the manifest.")
    copy.seek(0)
    return copy


def _sha256(fileobj) -> str:
    sha256 = hashlib.sha256()
    while chunk := fileobj.read(CHUNK):
        sha256.update(chunk)
    return sha256.hexdigest()


def plan_files(manifest: dict) -> tuple[list[dict], list[str]]:
    """The backup's files still to put back, and those already there with the same bytes; refuse others."""
    to_restore, present, conflicts = [], [], []
    for item in manifest["files"]["items"]:
        name = item["name"]
        if not default_storage.exists(name):
            to_restore.append(item)
            continue
        with default_storage.open(name, "rb") as existing:
            (present if _sha256(existing) == item["sha256"] else conflicts).append(name)
    if conflicts:
        shown = ", ".join(conflicts[:10]) + (f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else "")
        raise BackupError(
            f"The uploads storage already has {len(conflicts)} file(s) of the backup's names with other content: "
            f"{shown}. Restore into an empty storage (or remove these files)."
        )
    return to_restore, present


def check_rows(data, manifest: dict) -> tuple[set, set]:
    """
    Read every row before anything changes: each must parse and be of a model this code has, and the
    rows per model must be the manifest's. Return the content types and permissions the rows name by
    natural key.
    """
    content_types, permissions = set(), set()
    relations: dict = {}
    counts: Counter = Counter()
    for number, line in enumerate(data, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            label, fields = row["model"], row["fields"]
            if not isinstance(label, str) or not isinstance(fields, dict):
                raise TypeError("no model or no fields")
        except (ValueError, KeyError, TypeError) as error:
            raise BackupError(
                f"The archive is damaged: line {number} of {DATA} is not a row ({error}). Nothing was changed."
            ) from error
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as error:
            raise BackupError(f"The backup has rows of a model this code does not have: {label}. Nothing was changed.") from error
        counts[model._meta.label] += 1
        if model not in relations:
            relations[model] = [
                (f.name, f.many_to_many, f.related_model._meta.label_lower)
                for f in model._meta.get_fields()
                if f.concrete and f.is_relation and f.related_model and f.related_model._meta.label_lower in BY_NATURAL_KEY
            ]
        try:
            for name, many, target in relations[model]:
                value = fields.get(name)
                for key in (value or []) if many else ([value] if value else []):
                    if target == "contenttypes.contenttype":
                        content_types.add(tuple(key))
                    else:
                        permissions.add(tuple(key))
                        content_types.add(tuple(key[1:]))
        except (AttributeError, TypeError) as error:
            raise BackupError(
                f"The archive is damaged: line {number} of {DATA} is malformed ({error}). Nothing was changed."
            ) from error
    expected = {label: n for label, n in manifest["models"].items() if n}
    if dict(counts) != expected:
        differences = sorted(set(expected.items()) ^ set(counts.items()))
        raise BackupError(f"The backup's rows do not match its manifest: {differences[:10]}. Nothing was changed.")
    return content_types, permissions


def _create_missing_natural_keys(content_types: set, permissions: set) -> int:
    """
    Create the content types and permissions the rows name but `migrate` did not create: those of
    models removed since (an old admin log entry may name one). Return how many were created.
    """
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    created = 0
    for app_label, model in sorted(content_types):
        created += ContentType.objects.get_or_create(app_label=app_label, model=model)[1]
    for codename, app_label, model in sorted(permissions):
        content_type = ContentType.objects.get_by_natural_key(app_label, model)
        created += Permission.objects.get_or_create(codename=codename, content_type=content_type, defaults={"name": codename})[1]
    return created


def _load_rows(data, manifest: dict, natural_keys: tuple[set, set]) -> dict:
    """Load the backup's rows (checked by check_rows), in one transaction, into a migrated database with no data of its own."""
    content_types, permissions = natural_keys
    data.seek(0)
    scope = backed_up_models()
    counts: Counter = Counter()
    with transaction.atomic():
        if found := rows_in_database():  # written since the check, by a site left running
            raise BackupError(_not_empty(found))
        replaced = 0
        for model in scope:
            if filled_by_migrate(model):
                replaced += model._base_manager.all().delete()[0]
        stale = _create_missing_natural_keys(content_types, permissions)
        tables = {m._meta.db_table for m in scope} | {
            f.remote_field.through._meta.db_table for m in scope for f in m._meta.local_many_to_many
        }
        try:
            for row in serializers.deserialize("jsonl", data):
                model = type(row.object)
                row.save(force_insert=not model._meta.parents)
                counts[model._meta.label] += 1
            connection.check_constraints(table_names=sorted(tables))
        except (DeserializationError, DatabaseError) as error:
            raise BackupError(f"The backup's rows could not be loaded, and none was kept: {error}") from error
        expected = {label: n for label, n in manifest["models"].items() if n}
        if dict(counts) != expected:
            differences = sorted(set(expected.items()) ^ set(counts.items()))
            raise BackupError(f"The backup's rows do not match its manifest: {differences[:10]}")
        loaded = [m for m in scope if counts[m._meta.label]]
        through = [f.remote_field.through for m in loaded for f in m._meta.local_many_to_many]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), loaded + through):
                cursor.execute(sql)
        if apps.is_installed("django_celery_beat"):
            from django_celery_beat.models import PeriodicTasks  # a running beat reloads its schedule

            PeriodicTasks.update_changed()
    return {"rows": sum(counts.values()), "models": len(counts), "replaced": replaced, "stale_natural_keys": stale}


def _not_empty(found: dict) -> str:
    listed = ", ".join(f"{label} ({n} row{'s' if n != 1 else ''})" for label, n in sorted(found.items())[:10])
    listed += f" and {len(found) - 10} more tables" if len(found) > 10 else ""
    return (
        f"The target database is not empty: {listed}. A backup restores only into an empty database "
        "(a new one, or drop and create it again); nothing was changed."
    )


def _restore_files(tar, items: list[dict]) -> tuple[list[str], list[str]]:
    """
    Put the files back under their names. Return the names that were damaged in the archive and
    those taken meanwhile by another file (both left out; every other file is put back).
    """
    damaged, taken = [], []
    for item in items:
        name = item["name"]
        try:
            copy = _spool_member(tar, FILES + name, item)
        except BackupError:
            damaged.append(name)
            continue
        with copy:
            saved = default_storage.save(name, File(copy, name=name))
        if saved != name:  # the name was taken since the check: keep the storage as it was
            default_storage.delete(saved)
            taken.append(name)
    return damaged, taken


def _open_archive(path):
    """The archive, opened for reading; a clear message when it cannot be."""
    try:
        fileobj = open(path, "rb")  # noqa: SIM115 -- closed by restore()
    except PermissionError as error:
        user = pwd.getpwuid(os.geteuid()).pw_name
        raise BackupError(
            f"Cannot read the archive {path}: permission denied. Make it readable by the user running restore "
            f"({user}), e.g. `chown {user} {path}` (keep its mode 0600). Nothing was changed."
        ) from error
    except FileNotFoundError as error:
        raise BackupError(f"Cannot read the archive {path}: there is no such file. Nothing was changed.") from error
    except OSError as error:
        raise BackupError(f"Cannot read the archive {path}: {error.strerror or error}. Nothing was changed.") from error
    if not fileobj.seekable():
        fileobj.close()
        raise BackupError(
            f"Cannot read the archive {path}: it is not a regular file (a pipe?). Decrypt or copy it to a file "
            "first. Nothing was changed."
        )
    return fileobj


def restore(path, *, files_only: bool = False, migrate_stdout=None) -> dict:
    """
    Restore the backup at `path` into this site's empty database and its uploads storage.
    Refuse (BackupError, nothing changed) a damaged or foreign archive, other migrations than the
    code's, a database with data, or a storage with other files of the same names: the whole archive
    is verified against its manifest (every member's size and SHA-256, every row's model and the
    rows per model) before `migrate` runs or anything is written.
    """
    with _open_archive(path) as fileobj:
        try:
            tar = tarfile.open(fileobj=fileobj, mode="r:gz")
        except READ_ERRORS as error:
            raise BackupError(
                f"Cannot read {path} as a backup: it is not a .tar.gz, or the archive is damaged or incomplete: "
                f"{error}. Nothing was changed."
            ) from error
        with tar, contextlib.ExitStack() as stack:
            manifest = verify_archive(tar)
            check_migrations(manifest)
            natural_keys = None
            if not files_only:
                data = stack.enter_context(_spool_member(tar, DATA, manifest["data"]))
                natural_keys = check_rows(data, manifest)
                if found := rows_in_database():
                    raise BackupError(_not_empty(found))
            to_restore, present = plan_files(manifest)
            report = {"manifest": manifest, "rows": 0, "models": 0, "replaced": 0, "stale_natural_keys": 0}
            if not files_only:
                call_command("migrate", interactive=False, verbosity=0, stdout=migrate_stdout or io.StringIO())
                report.update(_load_rows(data, manifest, natural_keys))
            damaged, taken = _restore_files(tar, to_restore)
    report.update(
        files_restored=len(to_restore) - len(damaged) - len(taken),
        files_present=len(present),
        files_damaged=damaged,
        files_taken=taken,
        secret_key_warning=secret_key_warning(manifest),
    )
    return report
