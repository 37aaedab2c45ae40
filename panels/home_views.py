"""One staff home per session: every stage of the year, each with its count of things to do."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from applications.enums import ApplicationStatus, Screening
from applications.models import Application
from outbox.enums import EmailStatus
from outbox.models import Email
from presessions.enums import CallState
from presessions.models import Session
from presessions.web import staff_required

from . import attendance, palais
from .enums import MemberRole, PanelStatus
from .models import Panel, PanelMember, ScheduleRelease, TrainingDay, VisaLetter, VisaLetterStatus
from .views import _admin_context, _coordinator


@dataclass
class Stage:
    title: str
    url: str
    summary: str
    to_do: int


@staff_required
@require_safe
def session_home(request, number):
    """The session's stages in the order of the year, each with what it holds and what is left to do."""
    _coordinator(request)
    session = get_object_or_404(Session.objects.select_related("call"), number=number)
    call = session.call_or_none
    apps = Application.objects.filter(review__session=session).aggregate(
        submitted=Count("pk", filter=~Q(status=ApplicationStatus.DRAFT)),
        unscreened=Count("pk", filter=Q(status=ApplicationStatus.SUBMITTED, screening=Screening.PENDING)),
        unscored=Count("pk", filter=Q(status=ApplicationStatus.SUBMITTED, screening=Screening.ELIGIBLE, score_count=0)),
    )
    held = session.reviews.taking_place().filter(meeting_not_held=False).count()
    panels = Panel.objects.filter(
        review__session=session, review__in=session.reviews.taking_place().filter(meeting_not_held=False)
    ).aggregate(
        final=Count("pk", filter=Q(status=PanelStatus.FINALISED)),
        replacements=Count("pk", filter=Q(proposed_replacement__isnull=False)),
    )
    speakers = PanelMember.objects.filter(
        panel__review__session=session, role=MemberRole.SPEAKER, declined_at__isnull=True
    ).aggregate(
        total=Count("pk"),
        confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
        training=Count("pk", filter=Q(attends_training=True)),
        trained=Count("pk", filter=Q(attended_training=True)),
    )
    training_day = TrainingDay.objects.filter(session=session).first()
    letters = VisaLetter.objects.filter(member__panel__review__session=session, status=VisaLetterStatus.REQUESTED).count()
    latest = ScheduleRelease.objects.filter(session=session).order_by("-number").first()
    mornings = palais.mornings(session)
    today = timezone.localdate()
    flagged = sum(1 for day in mornings if day >= today for guest in palais.guests(session, day) if guest.warnings)
    rows = attendance.by_meeting(session)
    drafts = Email.objects.filter(
        status=EmailStatus.DRAFT,
        content_type=ContentType.objects.get_for_model(Application),
        object_id__in=Application.objects.filter(review__session=session).values("pk"),
    ).count()
    stages = [
        Stage(
            _("Call for applications"),
            reverse("admin:presessions_call_change", args=[call.pk]) if call else reverse("admin:presessions_call_add"),
            (
                _("%(state)s; %(count)d applications submitted")
                % {"state": CallState(call.state()).label, "count": apps["submitted"]}
            )
            if call
            else _("No call yet"),
            0 if call else 1,
        ),
        Stage(
            _("Screening and review"),
            reverse("applications:dashboard", args=[number]),
            _("%(unscreened)d to screen, %(unscored)d eligible without a score")
            % {"unscreened": apps["unscreened"], "unscored": apps["unscored"]},
            apps["unscreened"] + apps["unscored"],
        ),
        Stage(
            _("Reviewers"),
            reverse("applications:reviewers", args=[number]) if call else reverse("applications:dashboard", args=[number]),
            _("Assign reviewers, see their progress and the conflicts of interest"),
            0,
        ),
        Stage(
            _("Panels"),
            reverse("panels:session", args=[number]),
            _("%(final)d of %(held)d finalised; %(replacements)d replacements to approve")
            % {"final": panels["final"], "held": held, "replacements": panels["replacements"]},
            max(held - panels["final"], 0) + panels["replacements"],
        ),
        Stage(
            _("Decisions waiting for approval"),
            reverse("admin:outbox_email_changelist") + "?status__exact=draft",
            _("%(count)d emails drafted") % {"count": drafts},
            drafts,
        ),
        Stage(
            _("Speakers"),
            reverse("panels:session", args=[number]),
            _("%(confirmed)d of %(total)d confirmed; %(training)d said they would come to the training")
            % {"confirmed": speakers["confirmed"], "total": speakers["total"], "training": speakers["training"]},
            speakers["total"] - speakers["confirmed"],
        ),
        Stage(
            _("Training day"),
            reverse("panels:training", args=[number]),
            (
                _("%(day)s; %(said)d said they would come, %(came)d came")
                % {
                    "day": date_format(training_day.date, "DATE_FORMAT"),
                    "said": speakers["training"],
                    "came": speakers["trained"],
                }
            )
            if training_day
            else _("No date set"),
            0 if training_day else 1,
        ),
        Stage(
            _("Schedule"),
            reverse("panels:schedule_staff", args=[number]),
            (_("Published: %(name)s") % {"name": latest.name}) if latest else _("Not published yet"),
            0 if latest else 1,
        ),
        Stage(
            _("Palais guest lists"),
            reverse("panels:attendance_staff", args=[number]),
            _("%(mornings)d mornings; %(flagged)d speakers with missing details")
            % {"mornings": len(mornings), "flagged": flagged},
            flagged,
        ),
        Stage(
            _("Visa support letters"),
            reverse("panels:visa_letters", args=[number]),
            _("%(waiting)d waiting for approval") % {"waiting": letters},
            letters,
        ),
        Stage(
            _("Missions in the room"),
            reverse("panels:attendance_staff", args=[number]),
            _("%(announced)d announced, %(came)d came")
            % {"announced": sum(r.expected_missions for r in rows), "came": sum(r.came_missions for r in rows)},
            0,
        ),
    ]
    title = _("UPR Working Group %(number)s") % {"number": number}
    return render(request, "admin/panels/session_home.html", _admin_context(request, session=session, stages=stages, title=title))
