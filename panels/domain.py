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
import functools

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import identity
from applications.domain import private_link
from applications.enums import ApplicationStatus, OrganisationKind, Screening
from applications.models import Application, told_decisions
from applications.transitions import change_status, decision_emails
from outbox.delivery import queue_each, queue_email
from outbox.enums import EmailStatus
from outbox.links import dedupe_key
from outbox.models import Email
from presessions.caching import bump_on_commit
from presessions.enums import ScoreBasis
from presessions.models import Call, Session, StateReview, Theme

from . import composition
from .enums import MemberRole, PanelStatus
from .models import Panel, PanelMember, PanelRules


class PanelFinalised(Exception):
    """A finalised panel cannot be recomposed."""


class PanelNotFinal(Exception):
    """Only a finalised panel can do this (approve a replacement, for instance)."""


class CallStillOpen(Exception):
    """The call is still open: decisions wait for it to close, unless a coordinator gives a reason."""


class PanelInfeasible(Exception):
    """No panel meets the hard rules with these locks (two locked speakers of one organisation, for instance)."""


class PanelOutOfDate(Exception):
    """Someone on the suggestion has left the pool (withdrew, or was screened out): recompute first."""

    def __init__(self, applications: list[Application]):
        super().__init__("the panel is out of date")
        self.applications = applications


class ConfirmedSpeaker(Exception):
    """The speaker has confirmed: taking them off the panel needs an explicit staff action that says so."""


def _with_candidate_data(applications: QuerySet[Application]) -> QuerySet[Application]:
    """What to_candidate reads, fetched with the applications."""
    return applications.select_related("organisation", "review").prefetch_related(
        Prefetch("themes", queryset=Theme.objects.only("pk"))
    )


def candidate_applications(review: StateReview) -> QuerySet[Application]:
    """The pool of a State's panel: submitted (or already decided) eligible applications."""
    return _with_candidate_data(
        Application.objects.filter(
            review=review,
            screening=Screening.ELIGIBLE,
            status__in=[ApplicationStatus.SUBMITTED, *ApplicationStatus.decided_states()],
            erased_at__isnull=True,  # an erased application is nobody's any more: never picked, never emailed
        )
        .exclude(status=ApplicationStatus.DECLINED)
        .order_by("pk")
    )


def identity_of(application: Application) -> int:
    """The organisation behind an application, the same across its applications (see applications.identity)."""
    return application.organisation.root_id


def score_basis(review: StateReview) -> str:
    """Which score the composer uses for a review's applications: the call's choice (raw mean by default)."""
    call = Call.objects.filter(session_id=review.session_id).only("score_basis").first()
    return call.score_basis if call else ScoreBasis.RAW


def panel_score(application: Application, basis: str) -> float:
    """The calibrated score when the call says so and the application has one; otherwise the raw mean."""
    if basis == ScoreBasis.CALIBRATED and application.score_calibrated is not None:
        return float(application.score_calibrated)
    return float(application.score_mean or 0)


def to_candidate(application: Application, basis: str = ScoreBasis.RAW) -> composition.Candidate:
    assessed = application.assessed
    criteria = tuple(key for key in ("national", "report", "coalition") if assessed.get(key))
    if application.is_nhri_a:
        criteria += ("nhri_a",)
    return composition.Candidate(
        id=application.pk,
        organisation_id=identity_of(application),
        score=panel_score(application, basis),
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


def confirmed_speakers(panel: Panel) -> set[int]:
    """The applications whose speaker has confirmed: recomposing never moves them off the panel."""
    return set(
        panel.members.filter(role=MemberRole.SPEAKER, confirmed_at__isnull=False, declined_at__isnull=True).values_list(
            "application_id", flat=True
        )
    )


@transaction.atomic
def compose_panel(review: StateReview, *, now: dt.datetime | None = None) -> Panel:
    """
    Compute (or recompute) the suggested panel of one State.

    Side effects, in order: the panel row (created if missing); its members updated in place
    (what a member confirmed, declined or sent stays with them), the new speakers and ranked
    reserves added, those no longer picked removed; its balance. Staff locks and exclusions are
    kept, and so is every speaker who has confirmed. Raise PanelFinalised for a finalised panel, and
    PanelInfeasible when the locks rule every panel out.
    """
    panel, _created = Panel.objects.select_for_update().get_or_create(review=review)
    if panel.is_final:
        raise PanelFinalised()
    rules = PanelRules.for_session(review.session)
    applications = list(candidate_applications(review))
    by_id = {a.pk: a for a in applications}
    excluded = set(panel.excluded.values_list("pk", flat=True))
    basis = score_basis(review)
    result = composition.compose(
        [to_candidate(a, basis) for a in applications],
        rules.slots,
        theme_weight=float(rules.theme_weight),
        locked=(set(panel.locked.values_list("pk", flat=True)) | confirmed_speakers(panel)) - excluded,
        excluded=excluded,
        require_nhri_or_coalition=rules.require_nhri_or_coalition,
    )
    if not result.feasible:
        raise PanelInfeasible()  # the caller's transaction is rolled back: the lock that caused it is undone
    theme_labels = dict(Theme.objects.values_list("pk", "label"))
    speakers = _speaking_order([by_id[cid] for cid in result.panel], result)
    wanted = {a.pk: (MemberRole.SPEAKER, i, _explanation(result.picks[a.pk], theme_labels)) for i, a in enumerate(speakers, 1)}
    wanted |= {cid: (MemberRole.RESERVE, i, {}) for i, cid in enumerate(result.reserve, start=1)}
    existing = {m.application_id: m for m in panel.members.all()}
    gone = [m.pk for cid, m in existing.items() if cid not in wanted and m.role != MemberRole.DECLINED]
    PanelMember.objects.filter(pk__in=gone).delete()
    changed, created = [], []
    for cid, (role, position, explanation) in wanted.items():
        member = existing.get(cid) or PanelMember(panel=panel, application=by_id[cid])
        member.role, member.position, member.explanation = role, position, explanation
        (changed if member.pk else created).append(member)
    PanelMember.objects.bulk_update(changed, ["role", "position", "explanation"])
    PanelMember.objects.bulk_create(created)
    panel.composed_at = now or timezone.now()
    panel.objective = result.objective
    panel.save()
    refresh_balance(panel)
    return panel


def panel_warnings(speakers: list[Application]) -> list[str]:
    """What staff should check on a panel: speakers who look like one organisation, and picks no one assessed."""
    warnings = []
    for i, a in enumerate(speakers):
        for b in speakers[i + 1 :]:
            if identity.look_alike(a.organisation, b.organisation):
                warnings.append(
                    _("“%(a)s” and “%(b)s” may be the same organisation: check them, and merge them in the admin if so.")
                    % {"a": a.organisation.name, "b": b.organisation.name}
                )
    for application in speakers:
        if not application.score_count:
            warnings.append(
                _("“%(name)s” is on the panel without any review: its score counts as 0.")
                % {"name": application.organisation.name}
            )
    return warnings


def earlier_panels(applications: list[Application]) -> dict[int, list[int]]:
    """For each application, the sessions in which its organisation (any copy) spoke before: [] for a first-timer."""
    identities = {identity_of(a): a.pk for a in applications}
    rows = (
        PanelMember.objects.filter(
            role=MemberRole.SPEAKER,
            application__status=ApplicationStatus.SELECTED,
            application__organisation__identity_id__in=list(identities),
        )
        .exclude(application__in=[a.pk for a in applications])
        .values_list("application__organisation__identity_id", "panel__review__session_id", "panel__review__session__number")
        .distinct()
    )
    found: dict[int, list[int]] = {a.pk: [] for a in applications}
    for identity_id, session_id, number in rows:
        for application in applications:
            if identity_of(application) == identity_id and application.review.session_id != session_id:
                found[application.pk].append(number)
    return {pk: sorted(set(numbers)) for pk, numbers in found.items()}


def out_of_pool(panel: Panel) -> list[Application]:
    """Speakers and reserves who are no longer candidates (withdrawn, or screened out since the last composition)."""
    pool = candidate_applications(panel.review).values("pk")
    return [
        m.application
        for m in panel.members.filter(role__in=[MemberRole.SPEAKER, MemberRole.RESERVE])
        .exclude(application__in=pool)
        .select_related("application__organisation")
    ]


def refresh_balance(panel: Panel) -> Panel:
    """Recount the panel's balance from the speakers it has now (after a composition, a decline or a replacement)."""
    rules = PanelRules.for_session(panel.review.session)
    excluded = set(panel.excluded.values_list("pk", flat=True))
    basis = score_basis(panel.review)
    pool = {a.pk: to_candidate(a, basis) for a in candidate_applications(panel.review) if a.pk not in excluded}
    speaker_ids = set(panel.members.filter(role=MemberRole.SPEAKER).values_list("application_id", flat=True))
    # A speaker who left the pool since the composition (withdrew, screened out) still counts until recomposed.
    gone = speaker_ids - set(pool)
    speakers = [pool[pk] for pk in speaker_ids & set(pool)]
    if gone:
        speakers += [to_candidate(a, basis) for a in _with_candidate_data(Application.objects.filter(pk__in=gone))]
    genders = [c.gender for c in speakers]
    panel.women, panel.men = genders.count(composition.WOMAN), genders.count(composition.MAN)
    panel.other_genders = len(genders) - panel.women - panel.men
    panel.parity_ok = abs(panel.women - panel.men) <= 1
    panel.themes_covered = len(frozenset().union(*(c.themes for c in speakers)))

    def strong(c: composition.Candidate) -> bool:
        return c.is_nhri or c.is_national_coalition

    needed = rules.require_nhri_or_coalition and any(strong(c) for c in pool.values())
    panel.nhri_or_coalition_ok = any(strong(c) for c in speakers) or not needed
    panel.save(update_fields=["women", "men", "other_genders", "parity_ok", "themes_covered", "nhri_or_coalition_ok"])
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
        try:
            panels.append(existing or compose_panel(review))
        except PanelInfeasible:
            continue  # its page says why; the other States are composed
    return panels


def _require_draft(panel: Panel) -> None:
    """Raise PanelFinalised unless the panel, as stored now, is a draft."""
    if Panel.objects.filter(pk=panel.pk, status=PanelStatus.FINALISED).exists():
        raise PanelFinalised()


@transaction.atomic
def set_choice(
    panel: Panel,
    application: Application,
    *,
    lock: bool | None = None,
    exclude: bool | None = None,
    remove_confirmed: bool = False,
) -> Panel:
    """
    Lock a candidate in or rule them out (each undoable), then recompose.

    Ruling out a speaker who has confirmed raises ConfirmedSpeaker unless `remove_confirmed`
    says that staff mean it (the page asks first).
    """
    if application.review_id != panel.review_id:
        raise ValueError("the application is not on this State")
    _require_draft(panel)
    if exclude and not remove_confirmed and application.pk in confirmed_speakers(panel):
        raise ConfirmedSpeaker()
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
def replace_speaker(panel: Panel, outgoing: Application, incoming: Application, *, remove_confirmed: bool = False) -> Panel:
    """Manual replacement: rule the outgoing speaker out and lock the incoming one in."""
    if outgoing.review_id != panel.review_id or incoming.review_id != panel.review_id:
        raise ValueError("the application is not on this State")
    _require_draft(panel)
    if not remove_confirmed and outgoing.pk in confirmed_speakers(panel):
        raise ConfirmedSpeaker()
    panel.excluded.add(outgoing)
    panel.locked.remove(outgoing)
    panel.locked.add(incoming)
    panel.excluded.remove(incoming)
    return compose_panel(panel.review)


@transaction.atomic
def move_speaker(panel: Panel, application: Application, offset: int) -> None:
    """Move a speaker up (-1) or down (+1) in the speaking order; anyone else is left where they are."""
    _require_draft(panel)
    speakers = list(panel.members.filter(role=MemberRole.SPEAKER).order_by("position"))
    index = next((i for i, m in enumerate(speakers) if m.application_id == application.pk), None)
    if index is None:
        return
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


def decide(application: Application, decision: str, member: PanelMember | None, *, by=None, reason: str = "") -> Email | None:
    """
    Give `application` the decision `decision` and make sure one email will tell it, once.

    Side effects, in order: the status changes (transitions.change_status, which discards any
    unsent email of another decision); unless the applicant already has, or was last sent, an
    email of this decision, one is drafted for a coordinator to approve. Return the pending
    email, or None when the last email sent already says it.
    """
    change_status(application, decision, by=by, reason=reason)
    emails = decision_emails(application)
    kind = DECISION_EMAILS[decision]
    if pending := emails.filter(status__in=EmailStatus.pending_states(), kind=kind).first():
        return pending
    last = emails.exclude(status__in=[*EmailStatus.pending_states(), EmailStatus.DISCARDED]).order_by("-pk").first()
    if last is not None and last.kind == kind:
        return None
    return queue_email(
        to=application.email,
        name=kind,
        context={
            "application": application,
            "organisation": application.organisation,
            "review": application.review,
            "session": application.review.session,
            "member": member,
            "link": private_link(application),
        },
        language=application.language,
        # Numbered: a decision that changes back (selected, not selected, selected) is told each time.
        dedupe_key=dedupe_key("decision", application.pk, decision, emails.count()),
        related=application,
        draft=True,
        batch=f"panel-{application.review_id}",
    )


def decision_drafts(panel: Panel) -> QuerySet[Email]:
    """The decision emails of one panel that wait for a coordinator's approval."""
    return Email.objects.filter(batch=f"panel-{panel.review_id}", status__in=EmailStatus.pending_states())


def finalise_panel(panel: Panel, *, by=None, early_reason: str = "", now: dt.datetime | None = None) -> list[Email]:
    """
    Turn the suggestion into decisions.

    Side effects, in order: each speaker's application becomes selected, with a confirmation
    deadline; each reserve's becomes reserve; every other submitted or earlier-decided
    application of the State becomes not selected; each applicant whose decision differs from
    what they were last told gets one decision email, drafted (nothing is sent until a
    coordinator approves it); the panel is marked finalised, by whom, and why early if so.

    Raise CallStillOpen while the call is open, unless `early_reason` says why not wait;
    PanelOutOfDate when someone on it has left the pool since it was composed (recompute, then
    look again); PanelFinalised if it already is.
    """
    now = now or timezone.now()
    with transaction.atomic():
        panel = Panel.objects.select_for_update().select_related("review__session").get(pk=panel.pk)
        if panel.is_final:
            raise PanelFinalised()
        call = panel.review.session.call_or_none
        if call is not None and call.state(now) != "closed" and not early_reason.strip():
            raise CallStillOpen()
        if gone := out_of_pool(panel):
            raise PanelOutOfDate(gone)
        rules = PanelRules.for_session(panel.review.session)
        drafts = []
        members = {
            m.application_id: m
            for m in panel.members.exclude(role=MemberRole.DECLINED).select_related(
                "application__organisation", "application__review__session"
            )
        }
        locked = {a.pk: a for a in Application.objects.select_for_update().filter(pk__in=list(members))}
        for member in members.values():
            application = locked[member.application_id]
            decision = ApplicationStatus.SELECTED if member.is_speaker else ApplicationStatus.RESERVE
            if member.is_speaker and member.confirmation_deadline is None:
                member.confirmation_deadline = now + dt.timedelta(days=rules.confirmation_days)
                member.save(update_fields=["confirmation_deadline"])
            drafts.append(decide(application, decision, member, by=by, reason="panel finalised"))
        others = (
            Application.objects.select_for_update()
            .filter(
                review=panel.review,
                # Not selected too: after a reopen, their unsent email was discarded and must be drafted again.
                status__in=[
                    ApplicationStatus.SUBMITTED,
                    ApplicationStatus.SELECTED,
                    ApplicationStatus.RESERVE,
                    ApplicationStatus.NOT_SELECTED,
                ],
                erased_at__isnull=True,
            )
            .exclude(pk__in=list(members))
        )
        for application in others:
            drafts.append(decide(application, ApplicationStatus.NOT_SELECTED, None, by=by, reason="panel finalised"))
        panel.status = PanelStatus.FINALISED
        panel.finalised_at = now
        panel.finalised_by = by
        panel.early_reason = early_reason.strip()[:300]
        panel.save(update_fields=["status", "finalised_at", "finalised_by", "early_reason"])
        bump_on_commit()
        return [d for d in drafts if d is not None]


@transaction.atomic
def reopen_panel(panel: Panel) -> Panel:
    """
    Let staff change a finalised panel again. Decisions already sent stay sent; those not sent
    yet are discarded (finalising again drafts what is then true). Confirmed speakers stay on.
    """
    if not Panel.objects.filter(pk=panel.pk, status=PanelStatus.FINALISED).update(
        status=PanelStatus.DRAFT, finalised_at=None, proposed_replacement=None
    ):
        panel.refresh_from_db()
        return panel  # only a finalised panel reopens; a draft one is left as it is
    decision_drafts(panel).update(status=EmailStatus.DISCARDED)
    bump_on_commit()
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
    bump_on_commit()
    return member


@transaction.atomic
def decline_participation(member: PanelMember, *, reason: str = "", now: dt.datetime | None = None) -> Application | None:
    """
    Record a decline (or an expired confirmation) and propose the best reserve.

    Side effects, in order: the member is marked declined (kept for the record, off the panel
    and off the reserve list for good) and their application too; the panel's balance is
    recounted; the panel is solved again with every other speaker locked in and the decliner
    ruled out, which keeps parity and the other constraints; the newcomer is stored as the
    proposed replacement, for a coordinator to approve. Return the proposal (None if no reserve fits).
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
    member.role = MemberRole.DECLINED
    member.save(update_fields=["declined_at", "decline_reason", "role"])
    application = Application.objects.select_for_update().get(pk=member.application_id)
    change_status(application, ApplicationStatus.DECLINED, reason=reason or "declined")
    member.panel.excluded.add(application)
    member.panel.locked.remove(application)
    refresh_balance(member.panel)
    return propose_replacement(member.panel, application)


def propose_replacement(panel: Panel, outgoing: Application) -> Application | None:
    review = panel.review
    rules = PanelRules.for_session(review.session)
    staying = list(panel.members.filter(role=MemberRole.SPEAKER).values_list("application_id", flat=True))
    reserves = list(panel.members.filter(role=MemberRole.RESERVE).values_list("application_id", flat=True))
    pool = [a for a in candidate_applications(review) if a.pk in set(staying) | set(reserves)]
    basis = score_basis(review)
    result = composition.compose(
        [to_candidate(a, basis) for a in pool],
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
def approve_replacement(panel: Panel, *, by=None, now: dt.datetime | None = None) -> PanelMember | None:
    """
    Promote the proposed reserve: they speak in the decliner's place, and a selection email is
    drafted. Only on a finalised panel (a draft panel is simply recomposed); raise PanelNotFinal.
    """
    now = now or timezone.now()
    panel = (
        Panel.objects.select_for_update(of=("self",))
        .select_related("proposed_replacement", "replaces", "review__session")
        .get(pk=panel.pk)
    )
    if not panel.is_final:
        raise PanelNotFinal()
    incoming, outgoing = panel.proposed_replacement, panel.replaces
    if incoming is None:
        return None
    rules = PanelRules.for_session(panel.review.session)
    old = PanelMember.objects.filter(panel=panel, application=outgoing).first()
    member = PanelMember.objects.filter(panel=panel, application=incoming, role=MemberRole.RESERVE).first()
    if member is None:  # the reserve left the list meanwhile: propose again
        Panel.objects.filter(pk=panel.pk).update(proposed_replacement=None)
        return None
    taken = set(panel.members.filter(role=MemberRole.SPEAKER).values_list("position", flat=True))
    position = old.position if old and old.position not in taken else max(taken, default=0) + 1
    member.role = MemberRole.SPEAKER
    member.position = position
    member.confirmation_deadline = now + dt.timedelta(days=rules.confirmation_days)
    member.save(update_fields=["role", "position", "confirmation_deadline"])
    incoming = Application.objects.select_for_update().get(pk=incoming.pk)
    decide(incoming, ApplicationStatus.SELECTED, member, by=by, reason="replacement approved")
    Panel.objects.filter(pk=panel.pk).update(proposed_replacement=None, replaces=None)
    refresh_balance(panel)
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
    """
    Queue one free-text message to every speaker of a finalised panel who has been told they are
    selected (nobody learns of a panel from a message before their decision). Raise PanelNotFinal
    on a draft panel.
    """
    now = now or timezone.now()
    if not Panel.objects.filter(pk=panel.pk, status=PanelStatus.FINALISED).exists():
        raise PanelNotFinal()
    told = told_decisions().filter(kind=DECISION_EMAILS[ApplicationStatus.SELECTED]).values("object_id")
    count = 0
    speakers = panel.members.filter(
        role=MemberRole.SPEAKER, declined_at__isnull=True, application__status=ApplicationStatus.SELECTED
    ).filter(application__in=told)
    for member in speakers.select_related("application"):
        queue_email(
            to=member.application.email,
            name="panel-message",
            context={"subject": subject, "body": body, "review": panel.review, "link": private_link(member.application)},
            language=member.application.language,
            dedupe_key=dedupe_key("panel-message", panel.pk, member.application_id, now.isoformat()),
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

    def reminder(application, deadline: dt.datetime) -> dict:
        return {
            "to": application.email,
            "name": "statement-reminder",
            "context": {
                "review": application.review,
                "organisation": application.organisation,
                "deadline": deadline,
                "link": private_link(application),
            },
            "language": application.language,
            "related": application,
        }

    due = {}
    for member in members:
        session = member.panel.review.session
        if session.pk not in rules:
            rules[session.pk] = PanelRules.for_session(session)
        deadline = statement_deadline(member, rules[session.pk])
        if deadline is None or now >= deadline or deadline - now > dt.timedelta(days=7):
            continue
        days = 2 if deadline - now <= dt.timedelta(days=2) else 7
        due[dedupe_key(f"statement-reminder-{days}", member.pk)] = functools.partial(reminder, member.application, deadline)
    return queue_each(due)
