"""
What panels hold about applicants, for applications/privacy.py: erased with the application,
given to the applicant in their copy, and the schedule subscriptions' own retention.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications import privacy
from applications.enums import ApplicationStatus
from applications.models import Application
from applications.transitions import change_status
from outbox.delivery import queue_email
from outbox.links import absolute_url
from presessions.models import Session

from .domain import decline_participation
from .enums import MemberRole
from .models import MissionRegistration, PanelMember, ScheduleRelease, ScheduleSubscription, VisaLetter

MEMBER_BLANKS = {"statement_file": "", "video_url": "", "decline_reason": "", "statement_public": False, "explanation": {}}


def erase_members(application_ids: list[int]) -> list[str]:
    """Blank the panel data of erased applications, and their names in every published schedule; return their files."""
    members = PanelMember.objects.filter(application_id__in=application_ids)
    VisaLetter.objects.filter(member__in=members).delete()
    files = list(members.exclude(statement_file="").values_list("statement_file", flat=True))
    member_ids = set(members.values_list("pk", flat=True))
    members.update(**MEMBER_BLANKS)
    if member_ids:
        for release in ScheduleRelease.objects.only("pk", "payload").iterator():
            changed = False
            for day in release.payload.get("days", []):
                for meeting in day.get("meetings", []):
                    for speaker in meeting.get("speakers", []):
                        if speaker.get("member") in member_ids:
                            speaker.update(organisation=None, name=None, statement_key=None)
                            changed = True
            if changed:
                ScheduleRelease.objects.filter(pk=release.pk).update(payload=release.payload)
    return files


def coordinators():
    """Active staff who coordinate, with an email address."""
    coordinate = Q(groups__permissions__codename="coordinate") | Q(user_permissions__codename="coordinate")
    return (
        get_user_model()
        .objects.filter(Q(is_superuser=True) | coordinate, is_active=True, is_staff=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def leave_panel(application: Application) -> None:
    """
    A decided applicant erases their application: they leave their panel as if they declined (a
    replacement is proposed) and, if they were a selected speaker, every coordinator is told.
    """
    member = PanelMember.objects.filter(application=application).select_related("panel__review__session").first()
    was_selected = application.status == ApplicationStatus.SELECTED
    if member is not None and member.role != MemberRole.DECLINED:
        decline_participation(member, reason="erased by the applicant")
    elif application.status in (ApplicationStatus.SELECTED, ApplicationStatus.RESERVE):
        change_status(application, ApplicationStatus.DECLINED, reason="erased by the applicant")
    if not was_selected:
        return
    review = application.review
    if member is not None:
        link = absolute_url(reverse("admin:panels_panel_change", args=[member.panel_id]))
    else:
        link = absolute_url(reverse("admin:panels_panel_changelist"))
    for user in coordinators():
        queue_email(
            to=user.email,
            name="speaker-erased",
            context={"review": review, "session": review.session, "link": link},
            language="en",
            dedupe_key=f"speaker-erased:{application.pk}:{user.pk}",
        )


def participation(application: Application) -> privacy.Section | None:
    member = PanelMember.objects.filter(application=application).first()
    if member is None or not application.told:
        return None
    meta = PanelMember._meta
    rows = [
        (str(meta.get_field("role").verbose_name), "role", member.get_role_display()),
        (str(meta.get_field("confirmed_at").verbose_name), "confirmed_at", privacy._display(member, "confirmed_at")),
        (str(meta.get_field("declined_at").verbose_name), "declined_at", privacy._display(member, "declined_at")),
        (str(meta.get_field("decline_reason").verbose_name), "decline_reason", member.decline_reason),
        (str(meta.get_field("attends_training").verbose_name), "attends_training", member.attends_training),
        (str(meta.get_field("statement_file").verbose_name), "statement_file", privacy._display(member, "statement_file")),
        (str(meta.get_field("statement_language").verbose_name), "statement_language", member.statement_language),
        (str(meta.get_field("video_url").verbose_name), "video_url", member.video_url),
    ]
    letter = VisaLetter.objects.filter(member=member).first()
    if letter is not None:
        vmeta = VisaLetter._meta
        rows += [
            (str(vmeta.get_field("full_name").verbose_name), "visa_full_name", letter.full_name),
            (str(vmeta.get_field("nationality").verbose_name), "visa_nationality", str(letter.nationality.name)),
            (str(vmeta.get_field("status").verbose_name), "visa_status", letter.get_status_display()),
        ]
    return privacy.Section("participation", _("Your participation"), rows)


def purge_subscriptions(now: dt.datetime, dry_run: bool) -> dict[str, int]:
    """
    Schedule subscriptions nobody confirmed within the drafts' period, those unsubscribed, and all
    of a session whose Pre-session week ended more than the drafts' period ago (nothing is left to
    announce).
    """
    days = privacy.retention_days("drafts")
    today = timezone.localdate(now)
    ended = [
        session.pk
        for session in Session.objects.filter(schedule_subscriptions__isnull=False).distinct().select_related("call")
        if (end := privacy.presession_end(session)) is not None and end <= today - dt.timedelta(days=days)
    ]
    old = ScheduleSubscription.objects.filter(
        Q(confirmed_at__isnull=True, created_at__lte=now - dt.timedelta(days=days))
        | Q(unsubscribed_at__isnull=False)
        | Q(session__in=ended)
    )
    count = old.count() if dry_run else old.delete()[0]
    return {"schedule_subscriptions": count}


def purge_mission_contacts(now: dt.datetime, dry_run: bool) -> dict[str, int]:
    """
    Missions' answers: unconfirmed ones after the drafts' period; the contact addresses of the rest
    once the Pre-session week is that far behind (the counts, by mission, stay for the record).
    """
    days = privacy.retention_days("drafts")
    today = timezone.localdate(now)
    ended = [
        session.pk
        for session in Session.objects.filter(mission_registrations__isnull=False).distinct().select_related("call")
        if (end := privacy.presession_end(session)) is not None and end <= today - dt.timedelta(days=days)
    ]
    unconfirmed = MissionRegistration.objects.filter(confirmed_at__isnull=True, created_at__lte=now - dt.timedelta(days=days))
    contacts = MissionRegistration.objects.filter(session__in=ended).exclude(email__endswith=f"@{privacy.ERASED_DOMAIN}")
    if dry_run:
        return {"mission_contacts": unconfirmed.count() + contacts.exclude(pk__in=unconfirmed.values("pk")).count()}
    count = unconfirmed.delete()[1].get(MissionRegistration._meta.label, 0)
    count += contacts.update(email=Concat(Value("erased-mission-"), Cast("pk", CharField()), Value(f"@{privacy.ERASED_DOMAIN}")))
    return {"mission_contacts": count}


def purge_visa_letters(now: dt.datetime, dry_run: bool) -> dict[str, int]:
    """Visa letter requests (names as in passports, nationalities) go right after their Pre-session week."""
    today = timezone.localdate(now)
    ended = [
        session.pk
        for session in Session.objects.filter(reviews__panel__members__visa_letter__isnull=False)
        .distinct()
        .select_related("call")
        if (end := privacy.presession_end(session)) is not None and end < today
    ]
    letters = VisaLetter.objects.filter(member__panel__review__session__in=ended)
    return {"visa_letters": letters.count() if dry_run else letters.delete()[0]}


def register() -> None:
    privacy.register_eraser(erase_members)
    privacy.register_logged_model(PanelMember)
    privacy.register_logged_model(ScheduleSubscription)
    privacy.register_departure(leave_panel)
    privacy.register_export(participation)
    privacy.register_purge_step(
        purge_mission_contacts,
        labels={
            "mission_contacts": gettext_lazy("missions' answers unconfirmed, or their contact addresses after the Pre-session")
        },
    )
    privacy.register_logged_model(MissionRegistration)
    privacy.register_logged_model(VisaLetter)
    privacy.register_purge_step(
        purge_visa_letters, labels={"visa_letters": gettext_lazy("visa letter requests of a Pre-session week that has ended")}
    )
    privacy.register_purge_step(
        purge_subscriptions,
        labels={
            "schedule_subscriptions": gettext_lazy("schedule subscriptions unconfirmed, unsubscribed or of a past Pre-session")
        },
    )
