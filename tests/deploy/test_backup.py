"""
Backup and restore (issue "production deployment"): a backup made on one database restores into an
empty one, files included.

The backup runs in-process against the test database, with the uploads in a temporary folder. Each
restore runs `manage.py restore` in a subprocess against a new, empty SQLite database with uploads of
its own; when the tests run on PostgreSQL, also against a new PostgreSQL database on the same server.
What the restored site holds is read by another subprocess (snapshot() below) and compared with the
source and the manifest.
"""

import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
import uuid
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from presessions import backup
from tests.factories import PDF_BYTES, make_application

REPO = Path(settings.BASE_DIR)
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
ORPHAN = b"%PDF-1.3\n% a statement whose row was deleted: backed up all the same\n"


def snapshot() -> dict:
    """What a site holds, in terms that do not depend on the database (run in the test and in subprocesses)."""
    return json.loads(json.dumps(_snapshot()))


def _snapshot() -> dict:
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core import serializers
    from django.core.files.storage import default_storage
    from django_celery_beat.models import PeriodicTask
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from applications.models import Application, HistoricalApplication
    from outbox.models import Email

    def serialized(queryset):
        return json.loads(serializers.serialize("json", queryset.order_by("pk")))

    return {
        "models": {model._meta.label: model._base_manager.count() for model in backup.backed_up_models()},
        "applications": serialized(Application.objects.all()),
        "application_themes": sorted(Application.themes.through.objects.values_list("application_id", "theme_id")),
        "history": serialized(HistoricalApplication.objects.all()),
        # Every microsecond (Django's JSON keeps milliseconds only, and drops a fraction under one).
        "history_dates": [h.history_date.isoformat() for h in HistoricalApplication.objects.order_by("pk")],
        "emails": sorted(
            [e.dedupe_key, e.content_type.app_label, e.content_type.model, e.object_id] for e in Email.objects.all()
        ),
        "files": {name: hashlib.sha256(default_storage.open(name).read()).hexdigest() for name in backup.storage_names()},
        "tasks": sorted(
            [t.name, t.task, t.enabled, t.interval.every if t.interval else None] for t in PeriodicTask.objects.all()
        ),
        "staff": sorted(
            [u.username, u.password, sorted(u.groups.values_list("name", flat=True))] for u in get_user_model().objects.all()
        ),
        "admin_log": sorted(
            [e.user.username, e.content_type.app_label, e.content_type.model, e.object_repr] for e in LogEntry.objects.all()
        ),
        "group_permissions": sorted(
            [group.name, sorted(group.permissions.values_list("content_type__app_label", "codename"))]
            for group in Group.objects.all()
        ),
        "totp": sorted([d.user.username, d.name, d.key, d.confirmed] for d in TOTPDevice.objects.all()),
        "static_tokens": sorted(StaticToken.objects.values_list("device__user__username", "token")),
    }


def _sha256(storage, name) -> str:
    with storage.open(name, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def print_snapshot():
    print("SNAPSHOT " + json.dumps(snapshot()))


def manage(*args, target, secret_key=None):
    """Run manage.py in a subprocess against `target`'s database and uploads folder."""
    env = {k: v for k, v in os.environ.items() if k not in {"S3_BUCKET", "REDIS_URL", "EMAIL_URL", "SENTRY_DSN"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=target.url,
        VAR_DIR=str(target.var_dir),
        SECRET_KEY=secret_key or settings.SECRET_KEY,
        PYTHONPATH=str(REPO),
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def target_snapshot(target) -> dict:
    result = manage("shell", "-c", "from tests.deploy.test_backup import print_snapshot; print_snapshot()", target=target)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("SNAPSHOT ")]
    return json.loads(line.removeprefix("SNAPSHOT "))


@pytest.fixture
def uploads(settings, tmp_path):
    """The uploads storage in a folder of the test's own (settings' signal resets default_storage)."""
    location = tmp_path / "source-private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}},
    }
    return location


@pytest.fixture
def site(uploads, cast, kenya):
    """A site in use: applications (one with its report, one whose file is gone), staff with second factors, a paused task."""
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core.files.storage import default_storage
    from django_celery_beat.models import IntervalSchedule, PeriodicTask
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from applications.models import Application
    from outbox.models import Email
    from presessions.models import Theme

    application = make_application(kenya, name="Haki Kenya", themes=Theme.objects.order_by("pk")[:2])
    application.report_file.save("our report.pdf", ContentFile(PDF_BYTES))
    application.speaker_name = "Wanjiru Kamau"
    application.save()  # a second history record
    # Times a millisecond cannot hold: a fraction under one millisecond, and six digits.
    for record, microsecond in zip(application.history.order_by("pk")[:2], [999, 123456], strict=True):
        type(record).objects.filter(pk=record.pk).update(history_date=record.history_date.replace(microsecond=microsecond))
    other = make_application(kenya, name="Sauti Yetu", status="draft", screening="pending")
    Application.objects.filter(pk=other.pk).update(report_file="reports/gone.pdf")  # a row whose file is missing
    default_storage.save("statements/orphan.pdf", ContentFile(ORPHAN))
    Email.objects.create(
        to=application.email, kind="application-received", subject="S", body_text="B", dedupe_key="k1", related=application
    )

    # The admin log and a group name a model removed since (its content type and permission are stale).
    gone = ContentType.objects.create(app_label="applications", model="review")
    Group.objects.get(name="Coordinator").permissions.add(
        Permission.objects.create(codename="mark_review", name="x", content_type=gone)
    )
    LogEntry.objects.create(user=cast.coordinator, content_type=gone, object_id="3", object_repr="Old review", action_flag=CHANGE)

    TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    StaticDevice.objects.create(user=cast.coordinator, name="backup codes").token_set.create(token="abcd1234")
    task = PeriodicTask.objects.get(name="Send queued emails")
    task.enabled = False
    task.interval = IntervalSchedule.objects.create(every=120, period=IntervalSchedule.SECONDS)
    task.save()
    return SimpleNamespace(application=application, cast=cast)


@pytest.fixture
def archive(site, tmp_path):
    path = tmp_path / "site.tar.gz"
    call_command("backup", str(path), stdout=io.StringIO())
    return path


def manifest_of(path) -> dict:
    with tarfile.open(path, "r:gz") as tar:
        return json.load(tar.extractfile(backup.MANIFEST))


def postgres_database():
    """A new, empty PostgreSQL database on the tests' server; dropped afterwards."""
    import psycopg

    server = urlparse(os.environ["DATABASE_URL"])
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(urlunparse(server._replace(path="/postgres")), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(server._replace(path=f"/{name}"))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"] if ON_POSTGRES else ["sqlite"])
def target(request, tmp_path):
    """An empty database and an empty uploads folder to restore into."""
    var_dir = tmp_path / f"target-{request.param}"
    var_dir.mkdir()
    if request.param == "sqlite":
        yield SimpleNamespace(url=f"sqlite:///{var_dir / 'new.sqlite3'}", var_dir=var_dir, sqlite=var_dir / "new.sqlite3")
    else:
        for url in postgres_database():
            yield SimpleNamespace(url=url, var_dir=var_dir, sqlite=None)


def test_a_backup_restores_into_an_empty_database_with_its_files(site, archive, target):
    source = snapshot()
    manifest = manifest_of(archive)

    restored = manage("restore", str(archive), target=target)

    assert restored.returncode == 0, restored.stderr
    assert "Database restored" in restored.stdout
    assert "SECRET_KEY" not in restored.stdout  # the same key: no warning
    after = target_snapshot(target)
    assert after["models"] == manifest["models"] == source["models"]
    assert source["models"]["applications.Application"] == 2
    assert source["models"]["otp_totp.TOTPDevice"] >= 1
    assert after["applications"] == source["applications"]
    assert after["application_themes"] == source["application_themes"] != []
    assert after["history"] == source["history"] != []
    assert after["history_dates"] == source["history_dates"]
    assert ".000999" in source["history_dates"][0] and ".123456" in source["history_dates"][1]
    assert after["emails"] == source["emails"] == [["k1", "applications", "application", site.application.pk]]
    assert after["staff"] == source["staff"]
    assert after["admin_log"] == source["admin_log"] == [["carla", "applications", "review", "Old review"]]
    assert after["group_permissions"] == source["group_permissions"]
    assert "2 content type(s) or permission(s) of models removed since were recreated" in restored.stdout
    assert after["totp"] == source["totp"] and after["static_tokens"] == source["static_tokens"] == [["carla", "abcd1234"]]
    # The uploaded report, byte for byte, under its name; and the file no row refers to.
    report = site.application.report_file.name
    assert (
        after["files"]
        == source["files"]
        == {
            report: hashlib.sha256(PDF_BYTES).hexdigest(),
            "statements/orphan.pdf": hashlib.sha256(ORPHAN).hexdigest(),
        }
    )
    assert (target.var_dir / "private" / report).read_bytes() == PDF_BYTES
    # The periodic tasks as staff left them: the paused, retimed one, and no duplicate from migrate.
    assert after["tasks"] == source["tasks"]
    names = [task[0] for task in after["tasks"]]
    assert len(names) == len(set(names)) and set(settings.PERIODIC_TASKS) <= set(names)
    assert ["Send queued emails", "presessions.sweep_outbox", False, 120] in after["tasks"]

    # New rows do not collide with restored ones (sequences were reset on PostgreSQL).
    created = manage(
        "shell",
        "-c",
        "from applications.models import Organisation as O; o = O.objects.create(name='New', country='KE', email='n@x.org'); "
        "print('NEW', o.pk)",
        target=target,
    )
    assert created.returncode == 0, created.stderr
    assert int(created.stdout.split("NEW ")[1]) > max(a["fields"]["organisation"] for a in source["applications"])

    # A second restore into the now non-empty database is refused and changes nothing.
    before = target_snapshot(target)
    database_bytes = target.sqlite.read_bytes() if target.sqlite else None
    again = manage("restore", str(archive), target=target)
    assert again.returncode != 0
    assert "The target database is not empty" in again.stderr and "nothing was changed" in again.stderr
    assert target_snapshot(target) == before
    if target.sqlite:
        assert target.sqlite.read_bytes() == database_bytes


def test_the_archive_is_private_and_does_not_hold_the_secret_key(site, tmp_path, settings):
    previous = os.umask(0o002)  # a permissive umask: the archive is private all the same
    try:
        out = io.StringIO()
        call_command("backup", str(tmp_path), stdout=out)  # a folder: the archive gets a dated name
    finally:
        os.umask(previous)
    [path] = tmp_path.glob("presessions-backup-*.tar.gz")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "1 file(s) that rows refer to were not in the storage" in out.getvalue()

    with tarfile.open(path, "r:gz") as tar:
        contents = {member.name: tar.extractfile(member).read() for member in tar.getmembers()}
    assert contents[backup.DATA] and contents[f"files/{site.application.report_file.name}"] == PDF_BYTES
    assert all(settings.SECRET_KEY.encode() not in body for body in contents.values())
    manifest = json.loads(contents[backup.MANIFEST])
    assert manifest["format_version"] == backup.FORMAT_VERSION and manifest["created_at"].endswith("+00:00")
    assert manifest["secret_key_fingerprint"] == backup.secret_key_fingerprint(settings.SECRET_KEY)
    assert manifest["secret_key_fingerprint"] != backup.secret_key_fingerprint("another key")
    assert manifest["migrations"]["latest"]["applications"] in manifest["migrations"]["applied"]["applications"]
    assert manifest["models"]["applications.Application"] == 2 and "sessions.Session" not in manifest["models"]
    assert not any(label.startswith(("axes.", "contenttypes.")) for label in manifest["models"])
    assert (manifest["files"]["count"], manifest["files"]["total_bytes"]) == (2, len(PDF_BYTES) + len(ORPHAN))
    assert (manifest["files"]["referenced"], manifest["files"]["referenced_missing_names"]) == (2, ["reports/gone.pdf"])


def test_restoring_under_another_secret_key_warns_that_private_links_stop_working(archive, tmp_path):
    var_dir = tmp_path / "elsewhere"
    var_dir.mkdir()
    elsewhere = SimpleNamespace(url=f"sqlite:///{var_dir / 'new.sqlite3'}", var_dir=var_dir)

    restored = manage("restore", str(archive), target=elsewhere, secret_key="a-new-key-for-the-new-server-" + "x" * 30)

    assert restored.returncode == 0, restored.stderr
    assert "SECRET_KEY differs" in restored.stdout and "private links" in restored.stdout
    assert "SECRET_KEY_FALLBACKS" in restored.stdout


def repacked(path, tmp_path, change) -> Path:
    """A copy of the archive at `path` whose members went through change(member, body) -> body (it may rename member)."""
    copy = tmp_path / f"changed-{uuid.uuid4().hex[:6]}.tar.gz"
    with tarfile.open(path, "r:gz") as tar, tarfile.open(copy, "w:gz") as out:
        for member in tar.getmembers():
            body = change(member, tar.extractfile(member).read())
            member.size = len(body)
            out.addfile(member, io.BytesIO(body))
    return copy


def rewritten(path, tmp_path, change) -> Path:
    """A copy of the archive at `path` whose manifest went through change(manifest)."""

    def manifest_changed(member, body):
        if member.name != backup.MANIFEST:
            return body
        manifest = json.loads(body)
        change(manifest)
        return json.dumps(manifest).encode()

    return repacked(path, tmp_path, manifest_changed)


def flipped(body: bytes) -> bytes:
    """`body` with one bit of its middle byte flipped."""
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


def tables_in(target) -> list[str]:
    """The tables of the target's database (none: nothing was changed)."""
    if target.sqlite:
        if not target.sqlite.exists():
            return []
        with closing(sqlite3.connect(target.sqlite)) as db:
            return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    import psycopg

    with psycopg.connect(target.url) as db:
        return [row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]


def files_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def sqlite_target(tmp_path) -> SimpleNamespace:
    var_dir = tmp_path / f"target-{uuid.uuid4().hex[:6]}"
    var_dir.mkdir()
    return SimpleNamespace(url=f"sqlite:///{var_dir / 'new.sqlite3'}", var_dir=var_dir, sqlite=var_dir / "new.sqlite3")


def assert_refused_changing_nothing(result, target, message):
    """`manage.py restore` failed with a CommandError (status 1, no traceback), before anything changed."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("CommandError: "), result.stderr
    assert message in result.stderr, result.stderr
    assert "Nothing was changed" in result.stderr
    assert tables_in(target) == []  # not even migrate ran
    assert files_in(target.var_dir / "private") == []


def test_a_backup_of_other_migrations_is_refused(archive, tmp_path):
    """Rows of another schema would not fit the tables: newer and older backups are refused before anything changes."""

    def newer(manifest):
        manifest["migrations"]["applied"]["applications"].append("9999_from_the_future")

    def older(manifest):
        manifest["migrations"]["applied"]["applications"].pop()

    with pytest.raises(CommandError, match=r"newer version .* applications\.9999_from_the_future"):
        call_command("restore", str(rewritten(archive, tmp_path, newer)), stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"older version of the application: it lacks the migrations applications\."):
        call_command("restore", str(rewritten(archive, tmp_path, older)), stdout=io.StringIO())


@pytest.fixture
def empty_uploads(archive, settings, tmp_path):
    """After the backup: the uploads storage moved to an empty folder."""
    location = tmp_path / "new-private"
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": {"location": location}}}
    return location


def test_files_are_put_back_only_where_the_storage_agrees(archive, empty_uploads):
    """--files-only fills an empty storage, skips files already there, and refuses other bytes under a backup's name."""
    from django.core.files.storage import default_storage

    out = io.StringIO()
    call_command("restore", str(archive), "--files-only", stdout=out)
    assert "Files restored: 2; already present: 0." in out.getvalue()
    assert (empty_uploads / "statements/orphan.pdf").read_bytes() == ORPHAN

    out = io.StringIO()
    call_command("restore", str(archive), "--files-only", stdout=out)
    assert "Files restored: 0; already present: 2." in out.getvalue()

    default_storage.delete("statements/orphan.pdf")
    default_storage.save("statements/orphan.pdf", ContentFile(b"other bytes"))
    with pytest.raises(CommandError, match=r"1 file\(s\) of the backup's names with other content: statements/orphan.pdf"):
        call_command("restore", str(archive), "--files-only", stdout=io.StringIO())
    assert (empty_uploads / "statements/orphan.pdf").read_bytes() == b"other bytes"


@pytest.mark.parametrize("damage", ["a byte of an uploaded file", "a byte of the rows", "the rows per model"])
def test_a_damaged_archive_is_refused_before_anything_changes(archive, target, tmp_path, damage):
    """One flipped byte anywhere is found by the manifest's SHA-256 sums before migrate runs: no row, no file restored."""
    manifest = manifest_of(archive)
    report = next(item["name"] for item in manifest["files"]["items"] if item["name"].startswith("reports/"))
    if damage == "a byte of an uploaded file":
        damaged = repacked(archive, tmp_path, lambda m, body: flipped(body) if m.name == backup.FILES + report else body)
        message = f"1 member(s) do not match their size and SHA-256 in the manifest: files/{report}"
    elif damage == "a byte of the rows":
        damaged = repacked(archive, tmp_path, lambda m, body: flipped(body) if m.name == backup.DATA else body)
        message = f"1 member(s) do not match their size and SHA-256 in the manifest: {backup.DATA}"
    else:  # the rows are intact, the manifest's count of them is not
        damaged = rewritten(archive, tmp_path, lambda m: m["models"].update({"applications.Application": 3}))
        message = (
            "The backup's rows do not match its manifest: [('applications.Application', 2), ('applications.Application', 3)]"
        )

    assert_refused_changing_nothing(manage("restore", str(damaged), target=target), target, message)


@pytest.mark.parametrize("keep", ["half", "all but the last 10 bytes", "40 bytes"])
def test_a_truncated_archive_is_refused_with_a_message(archive, empty_uploads, tmp_path, keep):
    body = archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(body[: {"half": len(body) // 2, "all but the last 10 bytes": len(body) - 10, "40 bytes": 40}[keep]])

    with pytest.raises(CommandError, match="the archive is damaged or incomplete|The archive is damaged or incomplete"):
        call_command("restore", str(cut), "--files-only", stdout=io.StringIO())
    assert files_in(empty_uploads) == []
    if keep == "half":  # as the operator sees it: a message, status 1, no traceback, nothing changed
        target = sqlite_target(tmp_path)
        assert_refused_changing_nothing(manage("restore", str(cut), target=target), target, "damaged or incomplete")


@pytest.mark.parametrize(
    "manifest_name, member_name",
    [
        ("../escaped.pdf", "files/../escaped.pdf"),
        ("statements/../../escaped.pdf", "files/statements/../../escaped.pdf"),
        ("/tmp/escaped.pdf", "files//tmp/escaped.pdf"),
        (None, "../escaped.pdf"),  # a member its manifest does not list
        (None, "/tmp/escaped.pdf"),
    ],
)
def test_a_file_name_outside_files_is_refused(archive, empty_uploads, tmp_path, manifest_name, member_name):
    orphan = "statements/orphan.pdf"

    def renamed(member, body):
        if member.name == backup.FILES + orphan:
            member.name = member_name
        elif member.name == backup.MANIFEST and manifest_name:
            manifest = json.loads(body)
            next(item for item in manifest["files"]["items"] if item["name"] == orphan)["name"] = manifest_name
            body = json.dumps(manifest).encode()
        return body

    outside = repacked(archive, tmp_path, renamed)
    with pytest.raises(CommandError, match=r"The archive holds a file name outside files/: .*escaped\.pdf.*Nothing was changed"):
        call_command("restore", str(outside), "--files-only", stdout=io.StringIO())
    assert files_in(empty_uploads) == [] and not (tmp_path / "escaped.pdf").exists()
    if member_name == "files/../escaped.pdf":
        target = sqlite_target(tmp_path)
        assert_refused_changing_nothing(manage("restore", str(outside), target=target), target, "outside files/")


def test_a_link_in_the_archive_is_refused(archive, empty_uploads, tmp_path):
    linked = tmp_path / "linked.tar.gz"
    with tarfile.open(archive, "r:gz") as tar, tarfile.open(linked, "w:gz") as out:
        for member in tar.getmembers():
            body = tar.extractfile(member).read()
            if member.name == "files/statements/orphan.pdf":
                member.type, member.linkname, member.size, body = tarfile.SYMTYPE, "/etc/passwd", 0, b""
            out.addfile(member, io.BytesIO(body))
    with pytest.raises(CommandError, match=r"holds files/statements/orphan.pdf, which is not a regular file"):
        call_command("restore", str(linked), "--files-only", stdout=io.StringIO())
    assert files_in(empty_uploads) == []


def test_an_unreadable_archive_is_refused_with_what_to_do(archive, empty_uploads, monkeypatch):
    """Restore runs as the site's user: an archive left readable by root only is a message, not a traceback."""
    if os.geteuid() == 0:  # root reads any file: make the archive unreadable to restore all the same

        def unreadable(path, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(backup, "open", unreadable, raising=False)
    else:
        archive.chmod(0)
    with pytest.raises(CommandError, match=r"Cannot read the archive .*site\.tar\.gz: permission denied\. .*chown \w+"):
        call_command("restore", str(archive), "--files-only", stdout=io.StringIO())
    assert files_in(empty_uploads) == []


def test_the_files_are_checked_again_as_they_are_put_back(archive, empty_uploads, tmp_path, monkeypatch):
    """Should the archive change after it was verified, a file that no longer matches its SHA-256 is left out."""

    def damaged_file(manifest):
        next(item for item in manifest["files"]["items"] if item["name"] == "statements/orphan.pdf")["sha256"] = "0" * 64

    monkeypatch.setattr(backup, "verify_archive", lambda tar: backup.parse_manifest(backup._scan(tar)[1]))
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 file\(s\) are damaged in the archive .*: statements/orphan.pdf"):
        call_command("restore", str(rewritten(archive, tmp_path, damaged_file)), "--files-only", stdout=out)
    assert "Files restored: 1" in out.getvalue()  # every other file is put back
    assert not (empty_uploads / "statements/orphan.pdf").exists()


def test_something_else_than_a_backup_is_refused(tmp_path, empty_uploads):
    not_a_backup = tmp_path / "notes.tar.gz"
    not_a_backup.write_bytes(b"not an archive")
    with pytest.raises(CommandError, match="Cannot read .* as a backup"):
        call_command("restore", str(not_a_backup), stdout=io.StringIO())
    with pytest.raises(CommandError, match="there is no such file"):
        call_command("restore", str(tmp_path / "missing.tar.gz"), stdout=io.StringIO())


def test_a_backup_goes_into_an_existing_folder_and_overwrites_only_when_asked(site, tmp_path):
    missing = f"{tmp_path / 'missing'}/"
    with pytest.raises(CommandError, match=r"The folder .*/missing/ does not exist; create it with `install -d -m 700 "):
        call_command("backup", missing, stdout=io.StringIO())
    assert not (tmp_path / "missing").exists()  # no file named after the folder

    folder = tmp_path / "backups"
    folder.mkdir()
    call_command("backup", f"{folder}/", stdout=io.StringIO())
    [dated] = folder.glob("presessions-backup-*.tar.gz")

    existing = tmp_path / "site.tar.gz"
    existing.write_bytes(b"yesterday's backup")
    with pytest.raises(CommandError, match=r"site\.tar\.gz already exists: give --overwrite"):
        call_command("backup", str(existing), stdout=io.StringIO())
    assert existing.read_bytes() == b"yesterday's backup"
    call_command("backup", str(existing), "--overwrite", stdout=io.StringIO())
    assert manifest_of(existing)["rows"] == manifest_of(dated)["rows"] > 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert not list(tmp_path.rglob("*.partial"))


def test_the_help_says_what_is_verified_and_what_the_checksums_do_not_protect_against():
    from presessions.management.commands import backup as backup_command
    from presessions.management.commands import restore as restore_command

    def help_of(module, name) -> str:
        return " ".join(module.Command().create_parser("manage.py", name).format_help().split())

    restore_help, backup_help = help_of(restore_command, "restore"), help_of(backup_command, "backup")
    assert "Before anything changes, reads the whole archive" in restore_help
    assert "SHA-256 of data.jsonl and of every file" in restore_help
    assert "detect damage (a bad disk, a copy cut short), not deliberate tampering" in restore_help
    assert "chown presessions ARCHIVE" in restore_help and "(age, gpg)" in restore_help
    assert "--overwrite" in backup_help and "install -d -m 700 FOLDER" in backup_help
    assert "not deliberate tampering" in backup_help and "age -r" in backup_help
