"""
Privacy by design: what is held about an applicant, for how long, and how it is erased.

Erasing an application keeps its row, stripped of everything that names or describes a person or
an organisation: the email becomes `erased-<id>@erased.invalid`, every free-text answer, the
speaker's details and the uploaded report go, in the row *and* in its audit history rows; the
organisation follows once none of its applications is left; the emails sent to it are deleted and
the admin log's names replaced. What stays are the categories the statistics across sessions and
cycles need (State, session, NHRI or CSO, scope, coalition, report submitted, gender, themes,
status, screening, scores), so the coordinator's dashboard counts the same before and after.

Other apps hold data about applications too (panels: speakers' statements, published schedules).
They register an eraser here, called in the same transaction with the ids being erased, and a
purge step for what they keep on their own (schedule subscriptions).

The periods are settings (settings.RETENTION, in days), counted from the end of the session's
Pre-session week for decided and withdrawn applications, from the call's close for drafts never
submitted, and from the day an email was queued for the outbox's bodies. `purge()` erases what is
past its period; `manage.py purge` runs it, and beat runs it daily.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from outbox.enums import EmailStatus
from outbox.models import Email
from presessions.caching import bump_on_commit, forget_pages
from presessions.models import Session

from .enums import ApplicationStatus, Publication
from .models import Application, Assessment, CallAlert, Organisation

logger = logging.getLogger(__name__)

ERASED_DOMAIN = "erased.invalid"
ERASED_NAME = "[erased]"

# What an erasure blanks on an application (and on its history rows), with the value it gets.
APPLICATION_BLANKS = {
    "report_reference": "",
    "report_file": "",
    "earlier_engagement": "",
    "statement_summary": "",
    "speaker_name": "",
    "speaker_role": "",
    "speaker_email": "",
    "speaker_phone": "",
    "accessibility_needs": "",
    "pending_email": "",
    "screening_reason": "",
    "publication": Publication.NOTHING,
}
# The organisation keeps only what the statistics count (kind, CSO form, accreditation, country,
# scope, coalition); what could single it out among its peers goes.
ORGANISATION_BLANKS = {
    "name": ERASED_NAME,
    "acronym": "",
    "website": "",
    "aim": "",
    "identity": None,
    "identity_reason": "",
    "member_count": None,
    "established_year": None,
    "ecosoc_status": False,
}
ORGANISATION_KEYS = {"name_key": "", "acronym_key": "", "domain_key": "", "web_key": ""}
ASSESSMENT_BLANKS = {"comment": "", "override_reasons": {}, "conflict_reason": ""}

# Other apps' data about applications: each eraser gets the ids being erased, inside the erasing
# transaction, and returns the names of the stored files it no longer refers to.
_erasers: list[Callable[[list[int]], list[str]]] = []
# What happens before an applicant erases their own application once decided (panels: a selected
# speaker leaves the panel, a replacement is proposed and the coordinators are told).
_departures: list[Callable[[Application], None]] = []
# Other apps' own retention rules: each step gets (now, dry_run) and returns {label: count}.
_purge_steps: list[Callable[[dt.datetime, bool], dict[str, int]]] = []
_step_labels: dict[str, str] = {}
# Other apps' sections of "everything held about you": each gets an application and returns a Section or None.
_exports: list[Callable[[Application], Section | None]] = []


def register_eraser(eraser: Callable[[list[int]], list[str]]) -> None:
    if eraser not in _erasers:
        _erasers.append(eraser)


def register_departure(departure: Callable[[Application], None]) -> None:
    if departure not in _departures:
        _departures.append(departure)


def register_purge_step(step: Callable[[dt.datetime, bool], dict[str, int]], labels: dict[str, str] | None = None) -> None:
    """`labels` name what each of the step's counts counts, for the purge's report (lazy translations)."""
    if step not in _purge_steps:
        _purge_steps.append(step)
    _step_labels.update(labels or {})


def register_export(section: Callable[[Application], Section | None]) -> None:
    if section not in _exports:
        _exports.append(section)


def retention_days(kind: str) -> int:
    return int(settings.RETENTION[kind])


# ---------------------------------------------------------------- erasing


# The deduplication key an email gets once its own key (which may name an address) is forgotten.
ANONYMOUS_KEY = Concat(Value("erased:"), Cast("pk", models.CharField()))


def _erased_email(prefix: str = "erased-"):
    return Concat(Value(prefix), Cast("pk", models.CharField()), Value(f"@{ERASED_DOMAIN}"))


def erase_applications(ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[str, int]:
    """
    Erase the personal data of the applications with these ids, everywhere it lives; return counts.

    Side effects, in one transaction: the rows and their history rows are blanked (see the module's
    docstring), the assessments' comments and reasons too; organisations with no application left
    are blanked; the emails related to the applications or sent to their addresses are deleted;
    the admin log's names are replaced; other apps' erasers run; the public pages are served
    afresh once it commits, and the stored files are deleted then (a file that cannot be deleted
    is logged, and the next purge deletes it as a file no row refers to).
    """
    now = now or timezone.now()
    ids = sorted(set(ids))
    if not ids:
        return {"applications": 0, "organisations": 0, "emails": 0, "files": 0}
    with transaction.atomic():
        rows = Application.objects.filter(pk__in=ids, erased_at__isnull=True)
        ids = list(rows.values_list("pk", flat=True))
        addresses = set()
        names = set()  # what the admin log may quote: speakers' and organisations' names, addresses
        files = []
        for email, speaker_email, pending, report, speaker in rows.values_list(
            "email", "speaker_email", "pending_email", "report_file", "speaker_name"
        ):
            addresses |= {a.strip().lower() for a in (email, speaker_email, pending) if a}
            names.add(speaker)
            if report:
                files.append(report)
        org_ids = set(rows.values_list("organisation_id", flat=True))

        HistoricalApplication = Application.history.model
        history = HistoricalApplication.objects.filter(id__in=ids)
        files += list(history.exclude(report_file="").values_list("report_file", flat=True).distinct())
        # The history's reasons may quote the applicant (a speaker's reason for declining).
        history.update(
            **APPLICATION_BLANKS,
            email=Concat(Value("erased-"), Cast("id", models.CharField()), Value(f"@{ERASED_DOMAIN}")),
            history_change_reason=None,
        )
        rows.update(
            **APPLICATION_BLANKS,
            email=_erased_email(),
            pending_email_key="",
            pending_email_at=None,
            form_token=None,
            reminders_opt_out=True,
            erased_at=now,
        )
        Assessment.objects.filter(application_id__in=ids).update(**ASSESSMENT_BLANKS)
        Assessment.history.model.objects.filter(application_id__in=ids).update(**ASSESSMENT_BLANKS)

        # An organisation goes once every application it made (under any of its copies) is erased.
        still_used = Application.objects.filter(organisation_id__in=org_ids, erased_at__isnull=True).values("organisation_id")
        gone_orgs = list(Organisation.objects.filter(pk__in=org_ids).exclude(pk__in=still_used).values_list("pk", flat=True))
        names |= erase_organisations(gone_orgs, now=now, addresses=addresses)

        application_type = ContentType.objects.get_for_model(Application)
        organisation_type = ContentType.objects.get_for_model(Organisation)
        # The emails about the erased applications go, and those to their addresses that no live
        # application or organisation still uses (call alerts, schedule updates); an address another
        # live application shares keeps that application's emails.
        still_in_use = set()
        for values in (
            Application.objects.filter(erased_at__isnull=True)
            .filter(Q(email__in=addresses) | Q(speaker_email__in=addresses) | Q(pending_email__in=addresses))
            .values_list("email", "speaker_email", "pending_email"),
            Organisation.objects.filter(erased_at__isnull=True, email__in=addresses).values_list("email"),
        ):
            for row in values:
                still_in_use |= {a.strip().lower() for a in row if a}
        unused = addresses - still_in_use
        about_live = Exists(Application.objects.filter(pk=OuterRef("object_id"), erased_at__isnull=True))
        emails = (
            Email.objects.filter(Q(content_type=application_type, object_id__in=ids) | Q(to__in=unused))
            .exclude(Q(content_type=application_type) & about_live)
            .exclude(status=EmailStatus.SENDING)
        )
        email_count, _by_model = emails.delete()
        # An email kept (one being sent now) must not name the address in its key either.
        if unused:
            named = Q()
            for address in unused:
                named |= Q(dedupe_key__icontains=address)
            Email.objects.filter(named).exclude(Q(content_type=application_type) & about_live).update(dedupe_key=ANONYMOUS_KEY)
        LogEntry.objects.filter(
            Q(content_type=application_type, object_id__in=[str(i) for i in ids])
            | Q(content_type=organisation_type, object_id__in=[str(i) for i in gone_orgs])
        ).update(object_repr=ERASED_NAME)
        scrub_log(names | addresses)

        for eraser in _erasers:
            files += eraser(ids)
        bump_on_commit()
        transaction.on_commit(forget_pages)
        transaction.on_commit(lambda: _delete_files(files))
    return {"applications": len(ids), "organisations": len(gone_orgs), "emails": email_count, "files": len(set(files))}


def erase_organisations(ids: list[int], *, now: dt.datetime, addresses: set[str]) -> set[str]:
    """
    Blank organisations (and their history) that no live application uses; others stop pointing at
    them. Add their addresses to `addresses`; return their names and acronyms that no live
    organisation shares, for the admin log.
    """
    if not ids:
        return set()
    names = set()
    for org_email, org_name, acronym in Organisation.objects.filter(pk__in=ids).values_list("email", "name", "acronym"):
        addresses.add(org_email.strip().lower())
        names |= {org_name, acronym} - {""}
    shared = Organisation.objects.filter(erased_at__isnull=True, name__in=names).exclude(pk__in=ids)
    names -= set(shared.values_list("name", flat=True))
    Organisation.objects.filter(identity_id__in=ids).update(identity=None, identity_reason="")
    Organisation.objects.filter(pk__in=ids).update(
        **ORGANISATION_BLANKS, **ORGANISATION_KEYS, email=_erased_email("erased-organisation-"), erased_at=now
    )
    Organisation.history.model.objects.filter(id__in=ids).update(
        **ORGANISATION_BLANKS,
        history_change_reason=None,
        email=Concat(Value("erased-organisation-"), Cast("id", models.CharField()), Value(f"@{ERASED_DOMAIN}")),
    )
    return names


def unused_organisations(now: dt.datetime) -> list[int]:
    """Organisations no application refers to any more (its applications were deleted in the admin), after the drafts' period."""
    return list(
        Organisation.objects.filter(erased_at__isnull=True, created_at__lte=now - dt.timedelta(days=retention_days("drafts")))
        .exclude(Exists(Application.objects.filter(organisation=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )


# Models whose admin log entries name a person or an organisation: once the row is gone (deleted
# in the admin, or purged), the purge replaces the entry's name. Other apps add theirs.
_logged_models: list[type[models.Model]] = []


def register_logged_model(model: type[models.Model]) -> None:
    if model not in _logged_models:
        _logged_models.append(model)


def log_leftovers():
    """Admin log entries, by model, that still name a row which no longer exists."""
    for model in [Application, Organisation, CallAlert, *_logged_models]:
        existing = model._base_manager.annotate(logged_pk=Cast("pk", models.TextField())).values("logged_pk")
        yield (
            LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
            .exclude(object_repr=ERASED_NAME)
            .exclude(object_id__in=existing)
        )


# Shorter values are too common to be replaced wherever they appear in the log.
SCRUB_MIN_LENGTH = 4
SCRUB_BATCH = 100


def scrub_log(values: Iterable[str]) -> int:
    """
    Replace these names and addresses wherever the admin log quotes them (an entry's object, or
    its change message, which names related objects: "Youth for Democracy Togo (Speaker)"), with
    the JSON-escaped spellings the change messages use. One query per hundred spellings to find
    the entries, one to write them.
    """
    spellings = set()
    for value in values:
        value = (value or "").strip()
        if len(value) >= SCRUB_MIN_LENGTH and value != ERASED_NAME:
            spellings |= {value, json.dumps(value)[1:-1]}
    if not spellings:
        return 0
    pattern = re.compile("|".join(re.escape(v) for v in sorted(spellings, key=len, reverse=True)), re.IGNORECASE)
    entries = {}
    ordered = sorted(spellings)
    for start in range(0, len(ordered), SCRUB_BATCH):  # SQLite parses a long OR as a deep tree
        quoting = Q()
        for value in ordered[start : start + SCRUB_BATCH]:
            quoting |= Q(object_repr__icontains=value) | Q(change_message__icontains=value)
        for entry in LogEntry.objects.filter(quoting).only("pk", "object_repr", "change_message"):
            entries.setdefault(entry.pk, entry)
    entries = list(entries.values())
    for entry in entries:
        entry.object_repr = pattern.sub(ERASED_NAME, entry.object_repr)
        entry.change_message = pattern.sub(ERASED_NAME, entry.change_message)
    LogEntry.objects.bulk_update(entries, ["object_repr", "change_message"], batch_size=500)
    return len(entries)


def _delete_files(names: Iterable[str]) -> int:
    deleted = 0
    for name in sorted(set(names)):
        try:
            default_storage.delete(name)
            deleted += 1
        except Exception:  # a storage outage must not undo the erasure: the next purge deletes the orphan
            logger.exception("Could not delete an erased application's file; the next purge will try again.")
    return deleted


def new_receipt() -> str:
    return "E-" + secrets.token_hex(5).upper()


class AlreadyErased(Exception):
    """The application's data was erased before."""


def erase_own_application(application: Application, *, now: dt.datetime | None = None) -> str:
    """
    An applicant erases their application through its private link; return the receipt's number.

    Side effects, in order, in one transaction: before a decision, the application is withdrawn;
    once decided, other apps act first (a selected speaker leaves the panel, the coordinators are
    told to replace them); the data is erased (erase_applications); a receipt email with no
    personal data goes to the address the application had.
    """
    from outbox.delivery import queue_email

    now = now or timezone.now()
    with transaction.atomic():
        # Lock the application's row only: PostgreSQL refuses to lock the nullable side of the joins.
        locked = Application.objects.select_for_update(of=("self",)).with_related().get(pk=application.pk)
        if locked.erased_at:
            raise AlreadyErased()
        address, language = locked.email, locked.language
        if locked.status in ApplicationStatus.editable_states():
            from .transitions import change_status

            locked.withdrawn_at = now
            change_status(locked, ApplicationStatus.WITHDRAWN, reason="erased by the applicant", fields=("withdrawn_at",))
        elif (end := presession_end(locked.review.session)) is None or end >= timezone.localdate(now):
            # Before the Pre-session week is over, a selected speaker leaves the panel; after it,
            # what happened stays as it was (the record counts it), only the data goes.
            for departure in _departures:
                departure(locked)
        erase_applications([locked.pk], now=now)
        receipt = new_receipt()
        Application.objects.filter(pk=locked.pk).update(erasure_receipt=receipt)
        queue_email(
            to=address,
            name="erasure-receipt",
            context={"receipt": receipt, "erased_at": now},
            language=language,
            dedupe_key=f"erasure-receipt:{receipt}",
            new_key=True,
        )
    return receipt


# ---------------------------------------------------------------- retention


def presession_end(session: Session) -> dt.date | None:
    """The last day of a session's Pre-session week, from which the periods of decided applications count."""
    timeline = session.timeline
    if timeline is not None:
        return timeline.presessions_end
    return session.end_date


@dataclass
class Due:
    """What the purge would erase at one moment."""

    unselected: list[int] = field(default_factory=list)
    selected: list[int] = field(default_factory=list)
    drafts: list[int] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return sorted({*self.unselected, *self.selected, *self.drafts})


def due_for_erasure(now: dt.datetime) -> Due:
    """The applications past their period at `now`, by kind. A fixed number of queries, whatever the data."""
    today = timezone.localdate(now)
    unselected_until = today - dt.timedelta(days=retention_days("unselected"))
    selected_until = today - dt.timedelta(days=retention_days("selected"))
    ended_unselected, ended_selected = [], []
    sessions = Session.objects.filter(reviews__applications__erased_at__isnull=True).distinct().select_related("call")
    for session in sessions:
        end = presession_end(session)
        if end is None:
            continue
        if end <= unselected_until:
            ended_unselected.append(session.pk)
        if end <= selected_until:
            ended_selected.append(session.pk)
    live = Application.objects.filter(erased_at__isnull=True)
    due = Due()
    due.unselected = list(
        live.filter(review__session__in=ended_unselected)
        .exclude(status__in=[ApplicationStatus.DRAFT, ApplicationStatus.SELECTED])
        .values_list("pk", flat=True)
    )
    due.selected = list(
        live.filter(review__session__in=ended_selected, status=ApplicationStatus.SELECTED).values_list("pk", flat=True)
    )
    due.drafts = list(
        live.filter(
            status=ApplicationStatus.DRAFT,
            review__session__call__closes_at__lte=now - dt.timedelta(days=retention_days("drafts")),
        ).values_list("pk", flat=True)
    )
    return due


def old_emails(now: dt.datetime):
    """Outbox rows whose recipient and body are past their period (and not already emptied)."""
    return (
        Email.objects.filter(created_at__lte=now - dt.timedelta(days=retention_days("outbox")))
        .exclude(to="", body_text="")
        .exclude(status__in=[EmailStatus.SENDING])
    )


def old_alerts(now: dt.datetime):
    """Call alerts nobody confirmed within the drafts' period, and those unsubscribed."""
    return CallAlert.objects.filter(
        Q(confirmed_at__isnull=True, created_at__lte=now - dt.timedelta(days=retention_days("drafts")))
        | Q(unsubscribed_at__isnull=False)
    )


def deleted_leftovers():
    """
    What the audit history and the outbox still hold about applications and organisations deleted
    in the admin (django-simple-history keeps a deleted row's last values; the outbox its emails,
    also those about call alerts, panel members or subscriptions deleted since).
    """
    HistoricalApplication = Application.history.model
    HistoricalOrganisation = Organisation.history.model
    return (
        HistoricalApplication.objects.exclude(id__in=Application.objects.values("pk")),
        HistoricalOrganisation.objects.exclude(id__in=Organisation.objects.values("pk")),
        *(
            Email.objects.filter(content_type=ContentType.objects.get_for_model(model)).exclude(
                object_id__in=model._base_manager.values("pk")
            )
            for model in [Application, Organisation, CallAlert, *_logged_models]
        ),
    )


def orphan_files() -> list[str]:
    """Stored uploads that no row refers to any more (an application deleted in the admin, a file left by an outage)."""
    from presessions.backup import referenced_files, storage_names

    referenced = referenced_files()
    day_ago = timezone.now() - dt.timedelta(days=1)
    orphans = []
    for name in storage_names():
        if name in referenced or not name.startswith(("reports/", "statements/")):
            continue
        try:
            modified = default_storage.get_modified_time(name)
        except (NotImplementedError, OSError):
            modified = None
        if modified is None or modified <= day_ago:  # a file being uploaded now has no row yet
            orphans.append(name)
    return orphans


@dataclass
class PurgeReport:
    dry_run: bool
    counts: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        verb = _("Would erase") if self.dry_run else _("Erased")
        labels = {
            "unselected": _("unselected, reserve, declined or withdrawn applications"),
            "selected": _("applications of selected speakers"),
            "drafts": _("drafts never submitted"),
            "organisations": _("organisations with no application left"),
            "emails": _("emails to or about them"),
            "old_emails": _("outbox emails past their period (recipient, subject and body)"),
            "alerts": _("call alerts unconfirmed or unsubscribed"),
            "deleted_leftovers": _("history rows and emails of applications and organisations deleted in the admin"),
            "log_entries": _("admin log entries naming a row deleted since"),
            "files": _("stored files"),
            "orphan_files": _("stored files no row refers to"),
            "mail_files": _("email files written by the file email backend, past the outbox's period"),
        }
        labels.update(_step_labels)
        out = []
        for key, label in labels.items():
            out.append(f"{verb}: {self.counts.get(key, 0)} {label}")
        for key, count in sorted(self.counts.items()):
            if key not in labels:
                out.append(f"{verb}: {count} {key}")
        return out


def purge(*, now: dt.datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """
    Erase every personal datum past its period at `now` (see the module's docstring); return what was done.

    With `dry_run`, the same work runs in a transaction that is rolled back, so the counts are
    exactly those a real run would give at that moment; no stored file is deleted. The counts are
    what each step actually changed: an application another purge erased meanwhile is not counted.
    """
    now = now or timezone.now()
    report = PurgeReport(dry_run=dry_run)
    if dry_run:
        with transaction.atomic():
            _purge(now, report, dry_run=True)
            transaction.set_rollback(True)
        return report
    _purge(now, report, dry_run=False)
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")  # the erased values leave the file's free pages too
    return report


def _purge(now: dt.datetime, report: PurgeReport, *, dry_run: bool) -> None:
    due = due_for_erasure(now)
    for kind in ("unselected", "selected", "drafts"):
        ids = getattr(due, kind)
        for start in range(0, len(ids), 500):
            done = erase_applications(ids[start : start + 500], now=now)
            report.counts.update({kind: done["applications"], **{key: done[key] for key in ("organisations", "emails", "files")}})
    report.counts["old_emails"] = old_emails(now).update(to="", subject="", body_text="", body_html="", headers={}, last_error="")
    Email.objects.filter(to="", dedupe_key__contains="@").update(dedupe_key=ANONYMOUS_KEY)
    report.counts["alerts"], _by_model = old_alerts(now).delete()
    report.counts["deleted_leftovers"] = sum(queryset.delete()[0] for queryset in deleted_leftovers())
    unused = unused_organisations(now)
    if unused:
        addresses: set[str] = set()
        scrub_log(erase_organisations(unused, now=now, addresses=addresses))
        report.counts["organisations"] += len(unused)
    report.counts["log_entries"] = sum(queryset.update(object_repr=ERASED_NAME) for queryset in log_leftovers())
    orphans = orphan_files()
    report.counts["orphan_files"] = len(orphans) if dry_run else _delete_files(orphans)
    mail = old_mail_files(now)
    report.counts["mail_files"] = len(mail) if dry_run else _unlink(mail)
    for step in _purge_steps:
        report.counts.update(step(now, dry_run))


def old_mail_files(now: dt.datetime) -> list[Path]:
    """
    The messages the file email backend (used when no SMTP server is set) wrote before the outbox's
    period: they are whole emails, private links included.
    """
    if not settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        return []
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    until = (now - dt.timedelta(days=retention_days("outbox"))).timestamp()
    return sorted(path for path in folder.iterdir() if path.is_file() and path.stat().st_mtime <= until)


def _unlink(paths: Iterable[Path]) -> int:
    deleted = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except OSError:
            logger.exception("Could not delete an old email file %s.", path.name)
    return deleted


# ---------------------------------------------------------------- the applicant's own copy


@dataclass
class Section:
    """One part of "everything held about you": a title, and (label, key, value) rows."""

    key: str
    title: str
    rows: list[tuple[str, str, object]]  # for "emails": (queued at, language, subject)


def _display(instance, name: str):
    value = getattr(instance, name)
    display = getattr(instance, f"get_{name}_display", None)
    if display is not None and value not in (None, ""):
        return str(display())
    if isinstance(value, FieldFile):  # a file: its presence, never its storage name
        return _("yes, a PDF file") if value else ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value)
    if hasattr(value, "code"):  # a country
        return str(value.name) if value else ""
    return value


def _fields(instance, names: Iterable[str]) -> list[tuple[str, str, object]]:
    meta = instance._meta
    return [(str(meta.get_field(name).verbose_name), name, _display(instance, name)) for name in names]


def held_data(application: Application) -> list[Section]:
    """Everything held about an applicant, in the terms the form used, for their page and their JSON copy."""
    organisation = application.organisation
    sections = [
        Section(
            "organisation",
            _("Your organisation"),
            _fields(
                organisation,
                [
                    "name",
                    "acronym",
                    "kind",
                    "cso_form",
                    "nhri_status",
                    "country",
                    "scope",
                    "is_coalition",
                    "member_count",
                    "website",
                    "established_year",
                    "ecosoc_status",
                    "aim",
                ],
            )
            + [
                (str(Application._meta.get_field("email").verbose_name), "email", application.email),
                (_("New address waiting for confirmation"), "pending_email", application.pending_email),
            ],
        ),
        Section(
            "application",
            _("Your application"),
            [
                (_("Pre-session"), "session", application.review.session.number),
                (str(Application._meta.get_field("review").verbose_name), "state", application.review.name),
                (_("Status"), "status", application.get_status_for_applicant_display()),
                (_("themes"), "themes", [theme.localized_label for theme in application.themes.all()]),
            ]
            + _fields(
                application,
                [
                    "report_submitted",
                    "report_reference",
                    "report_file",
                    "earlier_engagement",
                    "statement_summary",
                    "created_at",
                    "submitted_at",
                    "withdrawn_at",
                    "screening",
                    "screening_reason",
                ],
            ),
        ),
        Section(
            "speaker",
            _("Your speaker"),
            _fields(
                application,
                [
                    "speaker_name",
                    "speaker_gender",
                    "speaker_role",
                    "speaker_email",
                    "speaker_phone",
                    "working_language",
                    "accessibility_needs",
                    "attendance",
                ],
            ),
        ),
        Section(
            "consent",
            _("Consent and publication"),
            _fields(application, ["consent_data", "privacy_version", "publication", "reminders_opt_out"])
            + [
                (
                    str(Application._meta.get_field("language").verbose_name),
                    "language",
                    str(dict(settings.LANGUAGES).get(application.language, application.language)),
                )
            ],
        ),
        Section(
            "emails",
            _("Emails we sent you"),
            [
                (timezone.localtime(email.created_at), email.language, email.subject)
                for email in Email.objects.filter(
                    content_type=ContentType.objects.get_for_model(Application), object_id=application.pk
                ).order_by("created_at", "pk")
            ],
        ),
    ]
    for export in _exports:
        section = export(application)
        if section is not None:
            sections.append(section)
    return sections


def held_data_json(application: Application) -> dict:
    """The same, as JSON: one object per section, keyed by field (emails as a list)."""
    data: dict = {"generated_at": timezone.now().isoformat(timespec="seconds")}
    for section in held_data(application):
        if section.key == "emails":
            data["emails"] = [
                {"queued_at": at.isoformat(timespec="seconds"), "language": language, "subject": subject}
                for at, language, subject in section.rows
            ]
        else:
            data[section.key] = {
                key: value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else value
                for _label, key, value in section.rows
            }
    return data
