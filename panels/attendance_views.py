"""
Missions in the room (panels.attendance): the public form a mission answers, its private link,
and the staff pages: expected attendance, the printable sign-in sheet, and the check-in at the door.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe
from django_countries import countries
from django_ratelimit.decorators import ratelimit

from applications.forms import posted_pk
from presessions.models import Session, StateReview
from presessions.web import private_page, staff_required

from . import attendance
from .models import MAX_DELEGATES, MissionRegistration
from .views import _admin_context, _coordinator


def _mission_choices():
    return [("", "")] + list(countries)


def published_meetings(session: Session, *, upcoming: bool = False) -> list[StateReview]:
    """
    The meetings of the session's published schedule (its latest release), in the order they take
    place; with `upcoming`, only those still to come (a mission answers for those).
    """
    from .models import ScheduleRelease

    release = ScheduleRelease.objects.filter(session=session).order_by("-number").first()
    if release is None:
        return []
    published = {meeting["iso2"].upper() for day in release.payload.get("days", []) for meeting in day.get("meetings", [])}
    reviews = session.reviews.taking_place().filter(meeting_not_held=False, meeting_date__isnull=False, country__in=published)
    if upcoming:
        reviews = reviews.filter(meeting_date__gte=timezone.localdate())
    return list(reviews.order_by("meeting_date", "meeting_start", "order"))


def _meeting_label(review: StateReview) -> str:
    when = date_format(review.meeting_date, "DAY_DATE_FORMAT")
    start = review.meeting_start.strftime("%H:%M") if review.meeting_start else ""
    return _("%(state)s – %(day)s, %(start)s") % {"state": review.name, "day": when, "start": start}


class AttendForm(forms.Form):
    mission = forms.ChoiceField(
        label=gettext_lazy("Permanent Mission of"),
        choices=_mission_choices,
        error_messages={"required": gettext_lazy("Choose your mission's State")},
    )
    email = forms.EmailField(
        label=gettext_lazy("Your email address"),
        help_text=gettext_lazy("We send you a link to confirm; nothing counts until you do."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": gettext_lazy("Enter your email address"),
            "invalid": gettext_lazy("Enter an email address in the correct format, like name@example.org"),
        },
    )

    def __init__(self, *args, meetings: list[StateReview], **kwargs):
        super().__init__(*args, **kwargs)
        self.meetings = meetings
        for review in meetings:
            self.fields[f"meeting-{review.pk}"] = forms.IntegerField(
                label=_meeting_label(review),
                required=False,
                min_value=0,
                max_value=MAX_DELEGATES,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "form-control delegates", "min": 0}),
                error_messages={
                    "invalid": gettext_lazy("Enter a whole number of delegates, like 2"),
                    "min_value": gettext_lazy("Enter 0 or more delegates"),
                    "max_value": gettext_lazy("Enter at most %(limit_value)s delegates"),
                },
            )

    def meeting_fields(self):
        return [self[f"meeting-{review.pk}"] for review in self.meetings]

    def choices(self) -> dict[int, int]:
        return {review.pk: self.cleaned_data.get(f"meeting-{review.pk}") or 0 for review in self.meetings}

    def clean(self):
        data = super().clean()
        if self.meetings and not self.errors and not any(self.choices().values()):
            self.add_error(f"meeting-{self.meetings[0].pk}", _("Give the number of delegates for at least one meeting"))
        return data


@ratelimit(key="ip", rate=lambda group, request: settings.APPLICATION_RATELIMIT, method="POST", block=False)
@require_http_methods(["GET", "POST"])
def attend(request, number):
    """A permanent mission says which meetings it will attend (no account; confirmed by email)."""
    session = get_object_or_404(Session, number=number)
    meetings = published_meetings(session, upcoming=True)
    if not meetings:
        return render(request, "panels/schedule_unpublished.html", {"session": session}, status=404)
    form = AttendForm(request.POST or None, meetings=meetings)
    if request.method == "POST" and getattr(request, "limited", False):
        return render(request, "applications/too_many.html", {"session": session}, status=429)
    if request.method == "POST" and form.is_valid():
        attendance.register(
            session,
            mission=form.cleaned_data["mission"],
            email=form.cleaned_data["email"],
            language=translation.get_language() or "en",
            choices=form.choices(),
        )
        return render(request, "panels/attend_sent.html", {"session": session})
    status = 400 if form.errors else 200
    return render(request, "panels/attend.html", {"session": session, "form": form}, status=status)


@private_page
@require_http_methods(["GET", "POST"])
def attendance_confirm(request, token):
    """The contact's private link: confirm the answer, see it, or withdraw it. Nothing changes on GET."""
    registration = attendance.registration_for_token(token)
    if registration is None:
        raise Http404
    if request.method == "POST":
        if request.POST.get("action") == "withdraw":
            attendance.withdraw(registration)
        elif registration.withdrawn_at is None:
            attendance.confirm(registration)
        return redirect("panels:attendance_confirm", token=token)
    choices = registration.choices.select_related("review").order_by("review__meeting_date", "review__meeting_start")
    context = {"registration": registration, "choices": choices, "session": registration.session, "token": token}
    return render(request, "panels/attendance_confirm.html", context)


# ------------------------------------------------------------------------------------ staff


@staff_required
@require_http_methods(["GET", "POST"])
def attendance_staff(request, number):
    """
    Expected and recorded attendance of every meeting of a session, with links to the sheets and the
    check-in; and every answer that counts, with the address it came from, which staff can withdraw.
    """
    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    if request.method == "POST":
        registration = MissionRegistration.objects.filter(session=session, pk=posted_pk(request.POST.get("withdraw"))).first()
        if registration is not None:
            attendance.withdraw(registration)
            messages.success(request, _("The answer of %(mission)s no longer counts.") % {"mission": registration.mission.name})
        return redirect("panels:attendance_staff", number=number)
    rows = attendance.by_meeting(session)
    days = sorted({row.review.meeting_date for row in rows if row.review.meeting_date})
    context = _admin_context(
        request, session=session, rows=rows, days=days, answers=attendance.answers(session), title=_("Missions in the room")
    )
    return render(request, "admin/panels/attendance.html", context)


@staff_required
@require_safe
def sign_in_sheet(request, number, day):
    """A printable sign-in sheet for one morning: each meeting, the missions announced, blank lines for the others."""
    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    try:
        date = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc
    reviews = [review for review in published_meetings(session) if review.meeting_date == date]
    if not reviews:
        raise Http404
    sheets = [(review, attendance.door_list(review)) for review in reviews]
    return render(request, "panels/sign_in_sheet.html", {"session": session, "date": date, "sheets": sheets, "blank": range(8)})


class CheckInForm(forms.Form):
    mission = forms.ChoiceField(label=gettext_lazy("Permanent Mission of"), choices=_mission_choices)
    delegates = forms.IntegerField(label=gettext_lazy("Delegates"), min_value=1, max_value=MAX_DELEGATES, initial=1)
    action = forms.ChoiceField(choices=[("in", "in"), ("out", "out")], widget=forms.HiddenInput, initial="in")


@staff_required
@require_http_methods(["GET", "POST"])
def check_in(request, review_id):
    """At the door, on a phone: tap a mission that came (or take it back); add one that did not announce itself."""
    _coordinator(request)
    review = get_object_or_404(
        StateReview.objects.taking_place().select_related("session"),
        pk=review_id,
        meeting_not_held=False,
        meeting_date__isnull=False,
    )
    form = CheckInForm(request.POST or None)
    too_early = timezone.localdate() < review.meeting_date
    if request.method == "POST" and too_early:
        messages.error(request, _("Attendance can be recorded from the day of the meeting."))
        return redirect("panels:check_in", review_id=review.pk)
    if request.method == "POST" and request.POST.get("action") in ("statement-yes", "statement-no"):
        attendance.record_state_statement(review, taken=request.POST["action"] == "statement-yes", by=request.user)
        messages.success(request, _("Saved."))
        return redirect("panels:check_in", review_id=review.pk)
    if request.method == "POST":
        if form.is_valid():
            mission = form.cleaned_data["mission"]
            if form.cleaned_data["action"] == "out":
                attendance.undo_check_in(review, mission=mission)
            else:
                attendance.check_in(review, mission=mission, delegates=form.cleaned_data["delegates"], by=request.user)
                messages.success(request, _("%(mission)s checked in.") % {"mission": dict(countries).get(mission, mission)})
            return redirect("panels:check_in", review_id=review.pk)
    rows = attendance.door_list(review)
    context = {
        "review": review,
        "rows": rows,
        "form": form,
        "came": sum(1 for row in rows if row.came),
        "statement_taken": getattr(getattr(review, "meeting_record", None), "state_statement_taken", None),
        "now": timezone.localtime(),
        "too_early": too_early,
    }
    return render(request, "panels/check_in.html", context, status=400 if form.errors else 200)


@staff_required
@require_safe
def guest_list(request, number, day, csv_format=False):
    """A morning's guest list for the Palais's security office: a printable page, or CSV."""
    import csv

    from django.http import HttpResponse

    from . import palais

    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    try:
        date = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc
    if date not in palais.mornings(session):
        raise Http404
    guests = palais.guests(session, date)
    if csv_format:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="guest-list-{date:%Y-%m-%d}.csv"'
        writer = csv.writer(response)
        writer.writerow([_("Family name"), _("Given names"), _("Organisation"), _("Meeting"), _("Starts"), _("To check")])
        for guest in guests:
            row = [guest.family_name, guest.given_names, guest.organisation, guest.meeting]
            row += [guest.starts.strftime("%H:%M") if guest.starts else "", "; ".join(guest.warnings)]
            writer.writerow([_spreadsheet_safe(value) for value in row])
        return response
    context = {"session": session, "date": date, "guests": guests, "due": palais.due_at(session, date)}
    return render(request, "panels/guest_list.html", context)


def _spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (names and organisations are typed by applicants)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@staff_required
@require_http_methods(["GET", "POST"])
def training(request, number):
    """The training day's roster: send the invitation, and on the day tick who came."""
    from django.urls import reverse

    from . import training as training_rules
    from .models import TrainingDay

    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    day = TrainingDay.objects.filter(session=session).first()
    if day is None:
        add = reverse("admin:panels_trainingday_add") + f"?session={session.pk}"
        return render(
            request,
            "admin/panels/training.html",
            _admin_context(request, session=session, day=None, add=add, title=_("Training day")),
        )
    if request.method == "POST":
        if request.POST.get("action") == "invite":
            count = training_rules.invite(day)
            messages.success(request, _("%(count)d invitations queued.") % {"count": count})
        else:
            came = {pk for pk in map(posted_pk, request.POST.getlist("came")) if pk is not None}
            try:
                training_rules.record_attendance(day, came)
            except training_rules.TooEarly:
                messages.error(request, _("Attendance can be recorded from the day of the training."))
            else:
                messages.success(request, _("Attendance saved."))
        return redirect("panels:training", number=number)
    members = list(training_rules.roster(day))
    context = _admin_context(request, session=session, day=day, members=members, title=_("Training day"))
    return render(request, "admin/panels/training.html", context)
