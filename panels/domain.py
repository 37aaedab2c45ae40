"""
Composing, adjusting and finalising panels, and what happens after: the
decision emails (drafted, then approved by a coordinator), confirmations,
declines and their replacements, and written statements.

The optimisation itself is in panels.composition, which knows nothing of
Django; this module turns applications into candidates and results back
into rows.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from applications.domain import private_link
from applications.enums import ApplicationStatus, OrganisationKind, Screening
from applications.models import Application
from presessions.emails import queue_email
from presessions.models import Email, Session, StateReview, Theme

from . import composition
from .enums import MemberRole, PanelStatus
from .models import Panel, PanelMember, PanelRules


class PanelFinalised(Exception):
    """A finalised panel cannot be recomposed."""


def candidate_applications(review: StateReview) -> QuerySet[Application]:
    """The pool of a State's panel: submitted (or already decided) eligible applications."""
    return (
        Application.objects.filter(
            review=review,
            screening=Screening.ELIGIBLE,
            status__in=[ApplicationStatus.SUBMITTED, *ApplicationStatus.decided_states()],
        )
        .exclude(status=ApplicationStatus.DECLINED)
        .select_related("organisation", "review")
        .prefetch_related(Prefetch("themes", queryset=Theme.objects.only("pk")))
        .order_by("pk")
    )


def to_candidate(application: Application) -> composition.Candidate:
    assessed = application.assessed
    criteria = tuple(key for key in ("national", "report", "coalition") if assessed.get(key))
    if application.is_nhri_a:
        criteria += ("nhri_a",)
    return composition.Candidate(
        id=application.pk,
        organisation_id=application.organisation_id,
        score=float(application.score_mean or 0),
        themes=frozenset(theme.pk for theme in application.themes.all()),
        gender=application.speaker_gender,
        is_nhri=application.organisation.kind == OrganisationKind.NHRI,
        is_national_coalition=assessed.get("coalition", False),
        criteria=criteria,
    )


def _speaking_order(speakers: list[Application], result: composition.Result) -> list[Application]:
    """The NHRI speaks first, then the others in the order they were ranked."""
    rank = {cid: i for i, cid in enumerate(result.panel)}
    return sorted(speakers, key=lambda a: (a.organisation.kind != OrganisationKind.NHRI, rank[a.pk]))


@transaction.atomic
def compose_panel(review: StateReview, *, now: dt.datetime | None = None) -> Panel:
    """
    Compute (or recompute) the suggested panel of one State.

    Side effects, in order: the panel row (created if missing), its members
    replaced by the new speakers and ranked reserves, and its summary
    figures. Staff locks and exclusions are kept. Raise PanelFinalised for a
    finalised panel.
    """
    panel, _created = Panel.objects.select_for_update().get_or_create(review=review)
    if panel.is_final:
        raise PanelFinalised()
    rules = PanelRules.for_session(review.session)
    applications = list(candidate_applications(review))
    by_id = {a.pk: a for a in applications}
    result = composition.compose(
        [to_candidate(a) for a in applications],
        rules.slots,
        theme_weight=float(rules.theme_weight),
        locked=set(panel.locked.values_list("pk", flat=True)),
        excluded=set(panel.excluded.values_list("pk", flat=True)),
        require_nhri_or_coalition=rules.require_nhri_or_coalition,
    )
    theme_labels = dict(Theme.objects.values_list("pk", "label"))
    panel.members.all().delete()
    speakers = _speaking_order([by_id[cid] for cid in result.panel], result)
    members = [
        PanelMember(
            panel=panel,
            application=a,
            role=MemberRole.SPEAKER,
            position=i,
            explanation=_explanation(result.picks[a.pk], theme_labels),
        )
        for i, a in enumerate(speakers, start=1)
    ]
    members += [
        PanelMember(panel=panel, application=by_id[cid], role=MemberRole.RESERVE, position=i)
        for i, cid in enumerate(result.reserve, start=1)
    ]
    PanelMember.objects.bulk_create(members)
    panel.composed_at = now or timezone.now()
    panel.objective = result.objective
    panel.women, panel.men = result.women, result.men
    panel.parity_ok = result.parity_ok
    panel.nhri_or_coalition_ok = result.nhri_or_coalition_ok
    panel.themes_covered = len(result.themes_covered)
    panel.save()
    return panel


def _explanation(pick: composition.Pick, theme_labels: dict[int, str]) -> dict:
    return {
        "criteria": list(pick.criteria),
        "new_themes": [theme_labels.get(t, str(t)) for t in pick.new_themes],
        "parity": pick.parity,
    }


def compose_session(session: Session) -> list[Panel]:
    """Compose the panel of every State whose meeting takes place; finalised panels are left alone."""
    panels = []
    for review in session.reviews.taking_place().filter(meeting_not_held=False).order_by("order"):
        existing = Panel.objects.filter(review=review, status=PanelStatus.FINALISED).first()
        panels.append(existing or compose_panel(review))
    return panels


@transaction.atomic
def set_choice(panel: Panel, application: Application, *, lock: bool | None = None, exclude: bool | None = None) -> Panel:
    """Lock a candidate in or rule them out (each undoable), then recompose."""
    if application.review_id != panel.review_id:
        raise ValueError("the application is not on this State")
    if lock is not None:
        (panel.locked.add if lock else panel.locked.remove)(application)
        if lock:
            panel.excluded.remove(application)
    if exclude is not None:
        (panel.excluded.add if exclude else panel.excluded.remove)(application)
        if exclude:
            panel.locked.remove(application)
    return compose_panel(panel.review)


@transaction.atomic
def replace_speaker(panel: Panel, outgoing: Application, incoming: Application) -> Panel:
    """Manual replacement: rule the outgoing speaker out and lock the incoming one in."""
    panel.excluded.add(outgoing)
    panel.locked.remove(outgoing)
    panel.locked.add(incoming)
    panel.excluded.remove(incoming)
    return compose_panel(panel.review)


@transaction.atomic
def move_speaker(panel: Panel, application: Application, offset: int) -> None:
    """Move a speaker up (-1) or down (+1) in the speaking order."""
    speakers = list(panel.members.filter(role=MemberRole.SPEAKER).order_by("position"))
    index = next(i for i, m in enumerate(speakers) if m.application_id == application.pk)
    other = index + offset
    if 0 <= other < len(speakers):
        speakers[index], speakers[other] = speakers[other], speakers[index]
        for position, member in enumerate(speakers, start=1):
            PanelMember.objects.filter(pk=member.pk).update(position=position)


# -------------------------------------------------------------- decisions

DECISION_EMAILS = {
    ApplicationStatus.SELECTED: "decision-selected",
    ApplicationStatus.RESERVE: "decision-reserve",
    ApplicationStatus.NOT_SELECTED: "decision-not-selected",
}


def _draft_decision(application: Application, decision: str, member: PanelMember | None) -> Email:
    """Draft a decision email; a decision is drafted (and so sent) at most once per applicant."""
    return queue_email(
        to=application.email,
        name=DECISION_EMAILS[decision],
        context={
            "application": application,
            "organisation": application.organisation,
            "review": application.review,
            "session": application.review.session,
            "member": member,
            "link": private_link(application),
        },
        language=application.language,
        dedupe_key=f"decision:{application.pk}:{decision}",
        related=application,
        draft=True,
    )


@transaction.atomic
def finalise_panel(panel: Panel, *, now: dt.datetime | None = None) -> list[Email]:
    """
    Turn the suggestion into decisions.

    Side effects, in order: each speaker's application becomes selected, with
    a confirmation deadline; each reserve's becomes reserve; every other
    submitted application of the State becomes not selected; one decision
    email per applicant is drafted (nothing is sent until a coordinator
    approves it); the panel is marked finalised.
    """
    now = now or timezone.now()
    panel = Panel.objects.select_for_update().get(pk=panel.pk)
    rules = PanelRules.for_session(panel.review.session)
    drafts = []
    members = {
        m.application_id: m for m in panel.members.select_related("application__organisation", "application__review__session")
    }
    for member in members.values():
        decision = ApplicationStatus.SELECTED if member.is_speaker else ApplicationStatus.RESERVE
        if member.is_speaker and member.confirmation_deadline is None:
            member.confirmation_deadline = now + dt.timedelta(days=rules.confirmation_days)
            member.save(update_fields=["confirmation_deadline"])
        _set_status(member.application, decision)
        drafts.append(_draft_decision(member.application, decision, member))
    others = (
        Application.objects.filter(review=panel.review, status=ApplicationStatus.SUBMITTED)
        .exclude(pk__in=list(members))
        .select_related("organisation", "review__session")
    )
    for application in others:
        _set_status(application, ApplicationStatus.NOT_SELECTED)
        drafts.append(_draft_decision(application, ApplicationStatus.NOT_SELECTED, None))
    panel.status = PanelStatus.FINALISED
    panel.finalised_at = now
    panel.save(update_fields=["status", "finalised_at"])
    return drafts


def _set_status(application: Application, status: str) -> None:
    application.status = status
    application.save(update_fields=["status", "updated_at"])


@transaction.atomic
def reopen_panel(panel: Panel) -> Panel:
    """Let staff change a finalised panel again; decisions already sent stay sent."""
    Panel.objects.filter(pk=panel.pk).update(status=PanelStatus.DRAFT, finalised_at=None)
    panel.refresh_from_db()
    return panel


# -------------------------------------------------- confirmation, decline, replacement


@transaction.atomic
def confirm_participation(member: PanelMember, *, attends_training: bool, now: dt.datetime | None = None) -> PanelMember:
    member = PanelMember.objects.select_for_update().get(pk=member.pk)
    if not member.confirmation_open(now):
        raise ValueError("confirmation is closed")
    member.confirmed_at = now or timezone.now()
    member.attends_training = attends_training
    member.save(update_fields=["confirmed_at", "attends_training"])
    return member


@transaction.atomic
def decline_participation(member: PanelMember, *, reason: str = "", now: dt.datetime | None = None) -> Application | None:
    """
    Record a decline (or an expired confirmation) and propose the best reserve.

    Side effects, in order: the member is marked declined and their
    application too; the panel is solved again with every other speaker
    locked in and the decliner ruled out, which keeps parity and the other
    constraints; the newcomer is stored as the proposed replacement, for a
    coordinator to approve. Return the proposal (None if no reserve fits).
    """
    now = now or timezone.now()
    member = (
        PanelMember.objects.select_for_update(of=("self",))
        .select_related("panel__review__session", "application")
        .get(pk=member.pk)
    )
    if member.declined_at:
        return member.panel.proposed_replacement
    member.declined_at = now
    member.decline_reason = reason[:300]
    member.save(update_fields=["declined_at", "decline_reason"])
    _set_status(member.application, ApplicationStatus.DECLINED)
    return propose_replacement(member.panel, member.application)


def propose_replacement(panel: Panel, outgoing: Application) -> Application | None:
    review = panel.review
    rules = PanelRules.for_session(review.session)
    staying = list(
        panel.members.filter(role=MemberRole.SPEAKER, declined_at__isnull=True).values_list("application_id", flat=True)
    )
    reserves = list(panel.members.filter(role=MemberRole.RESERVE).values_list("application_id", flat=True))
    pool = [a for a in candidate_applications(review) if a.pk in set(staying) | set(reserves)]
    result = composition.compose(
        [to_candidate(a) for a in pool],
        len(staying) + 1,
        theme_weight=float(rules.theme_weight),
        locked=staying,
        excluded=set(panel.excluded.values_list("pk", flat=True)) | {outgoing.pk},
        require_nhri_or_coalition=rules.require_nhri_or_coalition,
    )
    newcomers = [cid for cid in result.panel if cid not in staying]
    proposal = Application.objects.filter(pk=newcomers[0]).first() if newcomers else None
    Panel.objects.filter(pk=panel.pk).update(proposed_replacement=proposal, replaces=outgoing)
    return proposal


@transaction.atomic
def approve_replacement(panel: Panel, *, now: dt.datetime | None = None) -> PanelMember | None:
    """Promote the proposed reserve: they become a speaker in the decliner's place, and a selection email is drafted."""
    now = now or timezone.now()
    panel = (
        Panel.objects.select_for_update(of=("self",))
        .select_related("proposed_replacement", "replaces", "review__session")
        .get(pk=panel.pk)
    )
    incoming, outgoing = panel.proposed_replacement, panel.replaces
    if incoming is None:
        return None
    rules = PanelRules.for_session(panel.review.session)
    old = PanelMember.objects.filter(panel=panel, application=outgoing).first()
    member = PanelMember.objects.get(panel=panel, application=incoming)
    member.role = MemberRole.SPEAKER
    member.position = old.position if old else panel.members.filter(role=MemberRole.SPEAKER).count() + 1
    member.confirmation_deadline = now + dt.timedelta(days=rules.confirmation_days)
    member.save(update_fields=["role", "position", "confirmation_deadline"])
    if old:
        old.role = MemberRole.RESERVE
        old.position = 999
        old.save(update_fields=["role", "position"])
    panel.excluded.add(outgoing)
    _set_status(incoming, ApplicationStatus.SELECTED)
    _draft_decision(incoming, ApplicationStatus.SELECTED, member)
    Panel.objects.filter(pk=panel.pk).update(proposed_replacement=None, replaces=None)
    return member


def expire_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Treat every speaker who did not confirm by the deadline as a decline (a periodic task)."""
    now = now or timezone.now()
    late = PanelMember.objects.filter(
        role=MemberRole.SPEAKER, confirmed_at__isnull=True, declined_at__isnull=True, confirmation_deadline__lt=now
    )
    count = 0
    for member in late:
        decline_participation(member, reason="No answer by the deadline", now=now)
        count += 1
    return count


def statement_deadline(member: PanelMember, rules: PanelRules | None = None) -> dt.datetime | None:
    """Written statements are due a set number of days before the meeting (or the Pre-session week)."""
    review = member.panel.review
    rules = rules or PanelRules.for_session(review.session)
    day = review.meeting_date or (review.session.timeline.presessions_start if review.session.timeline else None)
    if day is None:
        return None
    due = day - dt.timedelta(days=rules.statement_days_before)
    return timezone.make_aware(dt.datetime.combine(due, dt.time(23, 59)), timezone.get_default_timezone())


@transaction.atomic
def save_statement(
    member: PanelMember, *, upload=None, language: str = "", video_url: str = "", now: dt.datetime | None = None
) -> PanelMember:
    now = now or timezone.now()
    deadline = statement_deadline(member)
    if deadline is not None and now >= deadline:
        raise ValueError("the statement deadline has passed")
    if upload is not None:
        member.statement_file = upload
        member.statement_uploaded_at = now
    if language:
        member.statement_language = language
    member.video_url = video_url or member.video_url
    member.save()
    return member


def message_speakers(panel: Panel, *, subject: str, body: str, now: dt.datetime | None = None) -> int:
    """Queue one free-text message to every speaker of a panel."""
    now = now or timezone.now()
    count = 0
    for member in panel.members.filter(role=MemberRole.SPEAKER, declined_at__isnull=True).select_related("application"):
        queue_email(
            to=member.application.email,
            name="panel-message",
            context={"subject": subject, "body": body, "review": panel.review, "link": private_link(member.application)},
            language=member.application.language,
            dedupe_key=f"panel-message:{panel.pk}:{member.application_id}:{now.isoformat()}",
            related=member.application,
        )
        count += 1
    return count


def send_statement_reminders(*, now: dt.datetime | None = None) -> int:
    """Remind selected speakers without a written statement, 7 and 2 days before it is due; each reminder once."""
    now = now or timezone.now()
    members = PanelMember.objects.filter(
        role=MemberRole.SPEAKER, declined_at__isnull=True, statement_file="", panel__status=PanelStatus.FINALISED
    ).select_related("panel__review__session__call", "application__organisation", "application__review")
    rules: dict[int, PanelRules] = {}
    due = []
    for member in members:
        session = member.panel.review.session
        if session.pk not in rules:
            rules[session.pk] = PanelRules.for_session(session)
        deadline = statement_deadline(member, rules[session.pk])
        if deadline is None or now >= deadline or deadline - now > dt.timedelta(days=7):
            continue
        days = 2 if deadline - now <= dt.timedelta(days=2) else 7
        due.append((member, deadline, f"statement-reminder-{days}:{member.pk}"))
    sent = set(Email.objects.filter(dedupe_key__in=[key for _m, _d, key in due]).values_list("dedupe_key", flat=True))
    queued = 0
    for member, deadline, key in due:
        if key in sent:
            continue
        application = member.application
        queue_email(
            to=application.email,
            name="statement-reminder",
            context={
                "review": application.review,
                "organisation": application.organisation,
                "deadline": deadline,
                "link": private_link(application),
            },
            language=application.language,
            dedupe_key=key,
            related=application,
        )
        queued += 1
    return queued
