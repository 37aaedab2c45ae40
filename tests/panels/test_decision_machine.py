"""
A stateful test of the whole decision flow, on the real models (issue 14).

Hypothesis drives a RuleBasedStateMachine through random sequences of what applicants, assessors
and coordinators do: apply (some organisations twice, spelt another way), withdraw, review,
declare a conflict, compose, lock, rule out (a confirmed speaker only when staff say so),
finalise (after the call closes, or early with a reason), reopen, approve and send the decisions,
confirm, decline, let confirmations expire, promote a reserve. After every step it checks the
invariants staff rely on. Each example runs in a savepoint that is rolled back.

The number of examples is DECISION_MACHINE_EXAMPLES, else 200 in CI and 20 locally (tests/profiles.py).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from applications import assessment as assessment_rules
from applications import domain as application_domain
from applications.enums import ApplicationStatus, decision_email_kind
from applications.models import Application, AssessorAssignment, told_decisions
from outbox.enums import EmailStatus
from outbox.models import Email
from panels import domain, publishing
from panels.enums import MemberRole
from panels.models import Panel, PanelMember, PanelRules
from presessions.models import Call
from tests.factories import make_application, send_decisions
from tests.profiles import examples

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("DECISION_MACHINE_EXAMPLES", examples(200)))

# Organisations that apply: (name, email). Pairs share an identity by domain or by name.
APPLICANTS = [
    ("Kenya Human Rights Forum", "info@khrf.or.ke"),
    ("KENYA HUMAN RIGHTS FORUM", "director@khrf.or.ke"),
    ("Women's Rights Network Kenya", "wrn@gmail.com"),
    ("Women’s Rights Network Kenya", "wrn.kenya@yahoo.com"),
    ("Legal Aid Centre", "office@lac.or.ke"),
    ("Disability Alliance", "da@da.or.ke"),
    ("Youth for Democracy", "yfd@yfd.or.ke"),
    ("Prison Reform Association", "pra@pra.or.ke"),
    ("Indigenous Peoples' Council", "ipc@ipc.or.ke"),
    ("Media Freedom Watch", "mfw@mfw.or.ke"),
]
GENDERS = ["woman", "man", "woman", "man", "non_binary", "undisclosed"]
MARKS = {"national": True, "report": True, "coalition": False, "quality": 3}


class DecisionFlow(RuleBasedStateMachine):
    review = None  # set by the test before the machine runs
    users: dict = {}

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        assert not Email.objects.exists() and not Application.objects.exists(), "an earlier example left rows behind"
        self.session = self.review.session
        self.call = Call.objects.get(session=self.session)
        self.slots = PanelRules.for_session(self.session).slots
        self.applied = 0
        # What each applicant may be told: the decisions they were given while on a finalised panel.
        self.given: dict[int, set[str]] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # Helpers ---------------------------------------------------------------

    def panel(self) -> Panel | None:
        return Panel.objects.filter(review=self.review).first()

    def apps(self):
        return list(Application.objects.filter(review=self.review).order_by("pk"))

    def pick(self, index: int, **filters):
        rows = list(Application.objects.filter(review=self.review, **filters).order_by("pk"))
        return rows[index % len(rows)] if rows else None

    def member(self, index: int, **filters):
        panel = self.panel()
        if panel is None:
            return None
        rows = list(panel.members.filter(**filters).order_by("pk"))
        return rows[index % len(rows)] if rows else None

    def call_open(self) -> bool:
        self.call.refresh_from_db()
        return self.call.state() == "open"

    def record_decisions(self):
        for application in Application.objects.filter(review=self.review, status__in=ApplicationStatus.told_states()):
            self.given.setdefault(application.pk, set()).add(decision_email_kind(application.status))

    # Applicants -----------------------------------------------------------

    @initialize(genders=st.lists(st.sampled_from(GENDERS), min_size=4, max_size=7), scored=st.lists(st.booleans()))
    def first_applications(self, genders, scored):
        """A call that already has applications, some of them reviewed, and a first suggestion."""
        for i, gender in enumerate(genders):
            self.apply(gender)
            if i < len(scored) and scored[i]:
                self.review_one(i, "r1", 1 + i % 5)
        domain.compose_panel(self.review)

    @precondition(lambda self: self.applied < len(APPLICANTS) and self.call_open())
    @rule(gender=st.sampled_from(GENDERS))
    def apply(self, gender):
        name, email = APPLICANTS[self.applied]
        self.applied += 1
        make_application(self.review, name=name, email=email, gender=gender, match=True)

    @precondition(lambda self: self.call_open())
    @rule(index=st.integers(0, 20))
    def withdraw(self, index):
        if application := self.pick(index, status__in=ApplicationStatus.editable_states()):
            application_domain.withdraw_application(application)

    # Assessors ------------------------------------------------------------

    @rule(index=st.integers(0, 20), who=st.sampled_from(["r1", "r2"]), quality=st.integers(1, 5))
    def review_one(self, index, who, quality):
        if application := self.pick(index, status=ApplicationStatus.SUBMITTED):
            assessment_rules.save_assessment(
                application=application, assessor=self.users[who], marks={**MARKS, "quality": quality}, reasons={}
            )

    @rule(index=st.integers(0, 20), who=st.sampled_from(["r1", "r2"]))
    def declare_conflict(self, index, who):
        if application := self.pick(index, status=ApplicationStatus.SUBMITTED):
            assessment_rules.save_assessment(
                application=application,
                assessor=self.users[who],
                marks={},
                reasons={},
                conflict=True,
                conflict_reason="Former employer",
            )

    # Coordinators ---------------------------------------------------------

    @rule()
    def compose(self):
        try:
            domain.compose_panel(self.review)
        except (domain.PanelFinalised, domain.PanelInfeasible):
            pass

    @rule(index=st.integers(0, 20), lock=st.booleans())
    def lock(self, index, lock):
        panel, application = self.panel(), self.pick(index)
        if panel and application:
            try:
                domain.set_choice(panel, application, lock=lock)
            except (domain.PanelFinalised, domain.PanelInfeasible):
                pass

    @rule(index=st.integers(0, 20), exclude=st.booleans(), mean_it=st.booleans())
    def rule_out(self, index, exclude, mean_it):
        panel, application = self.panel(), self.pick(index)
        if panel and application:
            try:
                domain.set_choice(panel, application, exclude=exclude, remove_confirmed=mean_it)
            except (domain.PanelFinalised, domain.PanelInfeasible, domain.ConfirmedSpeaker):
                pass

    @rule()
    def close_call(self):
        Call.objects.filter(pk=self.call.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))

    @rule(early=st.booleans())
    def finalise(self, early):
        panel = self.panel()
        if panel is None:
            return
        try:
            domain.finalise_panel(panel, by=self.users["coordinator"], early_reason="UN dates moved" if early else "")
        except (domain.PanelFinalised, domain.CallStillOpen, domain.PanelOutOfDate):
            return
        self.record_decisions()

    @rule()
    def reopen(self):
        if (panel := self.panel()) and panel.is_final:
            domain.reopen_panel(panel)

    @rule()
    def approve_and_send(self):
        send_decisions()

    @rule()
    def promote_reserve(self):
        if (panel := self.panel()) and panel.is_final and panel.proposed_replacement_id:
            domain.approve_replacement(panel, by=self.users["coordinator"])
            self.record_decisions()

    # Speakers -------------------------------------------------------------

    def told_speaker(self, index):
        member = self.member(index, role=MemberRole.SPEAKER, confirmed_at__isnull=True, declined_at__isnull=True)
        if member and member.panel.is_final and member.application.told and member.confirmation_open():
            return member
        return None

    @rule(index=st.integers(0, 10), training=st.booleans())
    def confirm(self, index, training):
        if member := self.told_speaker(index):
            domain.confirm_participation(member, attends_training=training)

    @rule(index=st.integers(0, 10))
    def decline(self, index):
        if member := self.told_speaker(index):
            domain.decline_participation(member, reason="Visa refused")

    @rule()
    def expire(self):
        domain.expire_unconfirmed(now=timezone.now() + dt.timedelta(days=60))

    # Invariants -----------------------------------------------------------

    @invariant()
    def seats_and_organisations(self):
        if panel := self.panel():
            speakers = list(panel.members.filter(role=MemberRole.SPEAKER).select_related("application__organisation"))
            assert len(speakers) <= self.slots, "more speakers than seats"
            identities = [domain.identity_of(m.application) for m in speakers]
            assert len(identities) == len(set(identities)), "two speakers of one organisation"

    @invariant()
    def a_finalised_panel_and_the_decisions_agree(self):
        panel = self.panel()
        if panel is None or not panel.is_final:
            return
        by_status = {
            status: set(Application.objects.filter(review=self.review, status=status).values_list("pk", flat=True))
            for status in (ApplicationStatus.SELECTED, ApplicationStatus.RESERVE)
        }
        speakers = set(panel.members.filter(role=MemberRole.SPEAKER).values_list("application_id", flat=True))
        reserves = set(panel.members.filter(role=MemberRole.RESERVE).values_list("application_id", flat=True))
        assert by_status[ApplicationStatus.SELECTED] == speakers, "selected applications are not the panel's speakers"
        assert by_status[ApplicationStatus.RESERVE] <= reserves, "a reserve decision for someone off the reserve list"

    @invariant()
    def one_pending_decision_matching_the_status(self):
        for application in self.apps():
            pending = Email.objects.filter(
                object_id=application.pk, kind__startswith="decision-", status__in=EmailStatus.pending_states()
            )
            assert pending.count() <= 1, f"{application.pk} has {pending.count()} pending decisions"
            if draft := pending.first():
                assert draft.kind == decision_email_kind(application.status), (draft.kind, application.status)

    @invariant()
    def decisions_only_to_finalised_panels(self):
        for email in Email.objects.filter(kind__startswith="decision-").exclude(status=EmailStatus.DISCARDED):
            assert email.kind in self.given.get(email.object_id, set()), f"{email.kind} to {email.object_id}"

    @invariant()
    def last_sent_decision_matches_the_status(self):
        panel = self.panel()
        if panel is None or not panel.is_final:
            return
        for application in self.apps():
            if application.status not in ApplicationStatus.told_states():
                continue
            decisions = Email.objects.filter(object_id=application.pk, kind__startswith="decision-")
            if decisions.filter(status__in=EmailStatus.pending_states()).exists():
                continue
            last = decisions.exclude(status__in=[*EmailStatus.pending_states(), EmailStatus.DISCARDED]).order_by("-pk").first()
            assert last is not None and last.kind == decision_email_kind(application.status), (
                application.pk,
                application.status,
                last and last.kind,
            )

    @invariant()
    def confirmed_speakers_are_on_the_panel(self):
        for member in PanelMember.objects.filter(confirmed_at__isnull=False, declined_at__isnull=True):
            assert member.role == MemberRole.SPEAKER

    @invariant()
    def public_speakers_are_told_and_confirmed(self):
        told = told_decisions()
        for member in publishing.public_speakers().select_related("application"):
            assert member.role == MemberRole.SPEAKER and member.confirmed_at and not member.declined_at
            assert member.application.status == ApplicationStatus.SELECTED
            assert told.filter(object_id=member.application_id, kind="decision-selected").exists()
            assert member.application.consent_data


def test_the_decision_flow_keeps_its_invariants(kenya, cast):
    user_model = type(cast.coordinator)
    r1 = user_model.objects.create_user("r1", is_staff=True)
    r2 = user_model.objects.create_user("r2", is_staff=True)
    for assessor in (r1, r2):
        AssessorAssignment.objects.create(assessor=assessor, review=kenya)
    DecisionFlow.review = kenya
    DecisionFlow.users = {"coordinator": cast.coordinator, "r1": r1, "r2": r2}
    run_state_machine_as_test(
        DecisionFlow,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
