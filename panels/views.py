import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_countries import countries

from applications import assessment as assessment_rules
from applications.enums import ApplicationStatus, Attendance
from applications.forms import posted_pk, validate_pdf
from applications.models import Application
from applications.tokens import key_from_token
from presessions.models import Session, StateReview
from presessions.web import private_file, private_page, staff_required

from . import attendance, domain, publishing, remote, visa
from .enums import MemberRole, StatementLanguage
from .models import MeetingPlacement, Panel, PanelMember, PanelRules, ScheduleRelease, VisaLetter, VisaLetterStatus


def _coordinator(request):
    if not assessment_rules.is_coordinator(request.user):
        raise PermissionDenied


def _admin_context(request, **extra):
    return {**admin.site.each_context(request), **extra}


@staff_required
@require_http_methods(["GET", "POST"])
def session_panels(request, number):
    """Every panel of a session at a glance, and "compose every panel" in one action."""
    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    if request.method == "POST" and request.POST.get("action") == "compose_all":
        panels = domain.compose_session(session)
        messages.success(request, _("%(count)d panels composed.") % {"count": len(panels)})
        return redirect("panels:session", number=number)
    reviews = list(
        session.reviews.taking_place()
        .order_by("order")
        .select_related("panel")
        .prefetch_related("panel__members__application__organisation")
    )
    rules = PanelRules.for_session(session)
    return render(
        request,
        "admin/panels/session.html",
        _admin_context(request, session=session, reviews=reviews, rules=rules, title=_("Panels")),
    )


class MessageForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10000)


class FinaliseForm(forms.Form):
    """The confirmation step of "Finalise": what will happen, and a reason when the call is still open."""

    early_reason = forms.CharField(
        label=gettext_lazy("Why decide before the call closes?"),
        help_text=gettext_lazy("Recorded with the panel. Applicants may still be writing their applications."),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, call_open: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.call_open = call_open
        if not call_open:
            del self.fields["early_reason"]

    def clean_early_reason(self):
        reason = self.cleaned_data["early_reason"].strip()
        if self.call_open and not reason:
            raise forms.ValidationError(_("Enter why the decisions cannot wait for the call to close"))
        return reason


# Actions on one candidate: each needs the candidate, named by the "application" field.
CANDIDATE_ACTIONS = {"lock", "unlock", "exclude", "include", "up", "down", "replace"}


@staff_required
@require_http_methods(["GET", "POST"])
def panel_detail(request, review_id):
    """One State's panel: the suggestion, the reserves, every candidate, and the controls to change it. No JavaScript needed."""
    _coordinator(request)
    review = get_object_or_404(StateReview.objects.select_related("session__call"), pk=review_id)
    panel = Panel.objects.filter(review=review).first()
    action = request.POST.get("action") if request.method == "POST" else None
    message_form = MessageForm(request.POST if action == "message" else None)
    call = review.session.call_or_none
    call_open = call is not None and call.state() != "closed"
    confirmed = action == "finalise" and request.POST.get("confirm") == "yes"
    finalise_form = FinaliseForm(request.POST if confirmed else None, call_open=call_open)
    confirm_removal = None
    if request.method == "POST":
        application = None
        if action in CANDIDATE_ACTIONS:
            application = Application.objects.filter(pk=_int(request.POST.get("application")), review=review).first()
            if application is None:
                messages.error(request, _("Choose one of this State's candidates."))
                return redirect("panels:panel", review_id=review.pk)
        remove_confirmed = request.POST.get("remove_confirmed") == "yes"
        try:
            if action == "compose" or panel is None:
                panel = domain.compose_panel(review)
            elif action in ("lock", "unlock"):
                domain.set_choice(panel, application, lock=action == "lock")
            elif action in ("exclude", "include"):
                domain.set_choice(panel, application, exclude=action == "exclude", remove_confirmed=remove_confirmed)
            elif action in ("up", "down"):
                domain.move_speaker(panel, application, -1 if action == "up" else 1)
            elif action == "replace":
                incoming = Application.objects.filter(pk=_int(request.POST.get("incoming")), review=review).first()
                if incoming is None:
                    messages.error(request, _("Choose the reserve who replaces this speaker."))
                else:
                    domain.replace_speaker(panel, application, incoming, remove_confirmed=remove_confirmed)
            elif action == "finalise":
                if confirmed and finalise_form.is_valid():
                    drafts = domain.finalise_panel(
                        panel, by=request.user, early_reason=finalise_form.cleaned_data.get("early_reason", "")
                    )
                    messages.success(
                        request,
                        _("Panel finalised. %(count)d decision emails are drafted and wait for approval in the outbox.")
                        % {"count": len(drafts)},
                    )
                else:
                    return _finalise_page(request, review, panel, finalise_form)
            elif action == "reopen":
                if not panel.is_final:
                    raise domain.PanelNotFinal()
                domain.reopen_panel(panel)
                messages.success(request, _("Panel reopened. Decision emails not sent yet are discarded."))
            elif action == "approve_replacement":
                if domain.approve_replacement(panel, by=request.user):
                    messages.success(request, _("Replacement approved; a selection email is drafted."))
            elif action == "message" and not panel.is_final:
                raise domain.PanelNotFinal()
            elif action == "message" and message_form.is_valid():
                count = domain.message_speakers(
                    panel, subject=message_form.cleaned_data["subject"], body=message_form.cleaned_data["body"]
                )
                messages.success(request, _("Message queued for %(count)d speakers.") % {"count": count})
        except domain.PanelFinalised:
            messages.error(request, _("This panel is finalised. Reopen it to change it."))
        except domain.PanelInfeasible:
            messages.error(
                request,
                _("No panel can keep every lock: two locked candidates may be the same organisation. Nothing was changed."),
            )
        except domain.PanelOutOfDate as stale:
            messages.error(
                request,
                _("The suggestion is out of date: %(names)s left the pool since it was composed. Recompute it, then finalise.")
                % {"names": ", ".join(a.organisation.name for a in stale.applications)},
            )
        except domain.PanelNotFinal:
            messages.error(request, _("Only a finalised panel can do this. Finalise it first."))
        except domain.CallStillOpen:
            return _finalise_page(request, review, panel, finalise_form)
        except domain.ConfirmedSpeaker:
            confirm_removal = application
        if confirm_removal is None and (action != "message" or message_form.is_valid() or not panel.is_final):
            return redirect("panels:panel", review_id=review.pk)
    context = _panel_context(review, panel)
    return render(
        request,
        "admin/panels/panel.html",
        _admin_context(
            request,
            **context,
            message_form=message_form,
            confirm_removal=confirm_removal,
            confirm_action=action,
            confirm_incoming=request.POST.get("incoming", ""),
            title=str(review),
        ),
    )


_int = posted_pk  # "²".isdigit() is true: only ASCII digits that fit the database are ids


def _finalise_page(request, review, panel, form):
    """Ask before finalising: what the decisions will be, and why early if the call is still open."""
    speakers = panel.members.filter(role=MemberRole.SPEAKER).count()
    reserves = panel.members.filter(role=MemberRole.RESERVE).count()
    others = (
        Application.objects.filter(
            review=review, status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.SELECTED, ApplicationStatus.RESERVE]
        )
        .exclude(panel_member__panel=panel, panel_member__role__in=[MemberRole.SPEAKER, MemberRole.RESERVE])
        .count()
    )
    return render(
        request,
        "admin/panels/finalise.html",
        _admin_context(
            request,
            review=review,
            panel=panel,
            form=form,
            speakers=speakers,
            reserves=reserves,
            others=others,
            call=review.session.call_or_none,
            title=_("Finalise the panel on %(state)s?") % {"state": review.name},
        ),
        status=200 if not form.is_bound or form.is_valid() else 400,
    )


CRITERIA_LABELS = {
    "national": gettext_lazy("National organisation"),
    "report": gettext_lazy("UPR report"),
    "coalition": gettext_lazy("National coalition"),
    "nhri_a": gettext_lazy("NHRI with A status"),
}
PARITY_LABELS = {
    "balances": gettext_lazy("brings the panel closer to parity"),
    "keeps": gettext_lazy("keeps parity"),
    "unbalances": gettext_lazy("the best balance the pool allows"),
    "neutral": gettext_lazy("counts on neither side"),
}


def _panel_context(review, panel):
    rules = PanelRules.for_session(review.session)
    candidates = list(domain.candidate_applications(review))
    members = {}
    locked, excluded = set(), set()
    if panel is not None:
        members = {m.application_id: m for m in panel.members.all()}
        locked = set(panel.locked.values_list("pk", flat=True))
        excluded = set(panel.excluded.values_list("pk", flat=True))
    speakers = sorted((m for m in members.values() if m.role == MemberRole.SPEAKER), key=lambda m: m.position)
    by_id = {a.pk: a for a in candidates}
    for member in members.values():
        member.app = by_id.get(member.application_id) or member.application
        member.why_criteria = [CRITERIA_LABELS.get(key, key) for key in member.explanation.get("criteria", [])]
        member.why_parity = PARITY_LABELS.get(member.explanation.get("parity", ""), "")
    reserves = sorted((m for m in members.values() if m.role == MemberRole.RESERVE), key=lambda m: m.position)
    declined = [m for m in members.values() if m.role == MemberRole.DECLINED]
    earlier = domain.earlier_panels([m.app for m in speakers + reserves])
    for member in speakers + reserves:
        member.spoke_before = earlier.get(member.app.pk, [])
    others = [a for a in candidates if a.pk not in members]
    size = max(1, len(speakers))
    return {
        "review": review,
        "panel": panel,
        "rules": rules,
        "speakers": speakers,
        "reserves": reserves,
        "others": others,
        "locked": locked,
        "calibrated": domain.score_basis(review) == "calibrated",
        "excluded": excluded,
        "excluded_apps": [a for a in candidates if a.pk in excluded],
        "women_pct": round(100 * (panel.women if panel else 0) / size),
        "men_pct": round(100 * (panel.men if panel else 0) / size),
        "meeting_minutes": rules.meeting_minutes(len(speakers)),
        "declined": declined,
        "warnings": domain.panel_warnings([m.app for m in speakers])
        + (
            [
                _("%(names)s left the pool since the panel was composed: recompute it before finalising.")
                % {"names": ", ".join(a.organisation.name for a in gone)}
            ]
            if panel is not None and not panel.is_final and (gone := domain.out_of_pool(panel))
            else []
        ),
        "too_few": len({domain.identity_of(a) for a in candidates}) < rules.min_speakers,
    }


# ------------------------------------------------ the selected speaker, through the private link


class ParticipationForm(forms.Form):
    answer = forms.ChoiceField(
        label=gettext_lazy("Will you speak at the Pre-session?"),
        choices=[("confirm", gettext_lazy("Yes, I confirm")), ("decline", gettext_lazy("No, I cannot come"))],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Say whether you confirm or decline")},
    )
    training = forms.ChoiceField(
        label=gettext_lazy("Will you attend the one-day training in Geneva?"),
        choices=[("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
        widget=forms.RadioSelect,
        required=False,
    )
    reason = forms.CharField(label=gettext_lazy("If you decline, why? (optional)"), required=False, max_length=300)

    def clean(self):
        data = super().clean()
        if data.get("answer") == "confirm" and not data.get("training"):
            self.add_error("training", _("Say whether you will attend the training"))
        return data


class StatementForm(forms.Form):
    statement = forms.FileField(label=gettext_lazy("Written statement (PDF)"), required=False)
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the statement"), choices=StatementLanguage.choices, widget=forms.RadioSelect
    )
    video_url = forms.URLField(
        label=gettext_lazy("Link to a pre-recorded video (virtual or hybrid sessions)"), required=False, assume_scheme="https"
    )

    def clean_statement(self):
        upload = self.cleaned_data.get("statement")
        if upload:
            validate_pdf(upload)
        return upload


def _member_for_token(token) -> PanelMember:
    """The panel member behind a private link; 404 until the applicant has been sent their decision."""
    key = key_from_token(token)
    application = get_object_or_404(Application, link_key=key)
    if not application.told:
        raise Http404("No decision sent yet")
    return get_object_or_404(
        PanelMember.objects.select_related("panel__review__session", "application__organisation"), application=application
    )


@private_page
@require_http_methods(["GET", "POST"])
def participation(request, token):
    member = _member_for_token(token)
    form = ParticipationForm(request.POST or None)
    statement_form = StatementForm(request.POST if request.POST.get("form") == "statement" else None, request.FILES or None)
    now = timezone.now()
    visa_form = VisaForm(
        request.POST if request.POST.get("form") == "visa" else None, initial={"full_name": member.application.speaker_name}
    )
    mode_form = ModeForm(
        request.POST if request.POST.get("form") == "mode" else None, initial={"mode": member.application.attendance}
    )
    if request.method == "POST" and request.POST.get("form") == "mode" and mode_form.is_valid():
        try:
            changed = remote.change_mode(member, mode_form.cleaned_data["mode"], now=now)
        except remote.ModeLocked:
            messages.error(request, _("It is too late to change how you take part: write to us."))
        else:
            if changed:
                messages.success(request, _("Thank you: we have noted how you will take part."))
        return redirect("panels:participation", token=token)
    if request.method == "POST" and request.POST.get("form") == "visa" and visa_form.is_valid():
        try:
            visa.request_letter(member, **visa_form.cleaned_data)
        except visa.LetterNotAllowed:
            messages.error(request, _("You can ask for a letter once you have confirmed, and only once."))
        else:
            messages.success(request, _("Your request is sent. We will email you when the letter is ready."))
        return redirect("panels:participation", token=token)
    if request.method == "POST" and request.POST.get("form") == "statement":
        if statement_form.is_valid():
            try:
                domain.save_statement(
                    member,
                    upload=statement_form.cleaned_data.get("statement"),
                    language=statement_form.cleaned_data["language"],
                    video_url=statement_form.cleaned_data.get("video_url", ""),
                )
            except ValueError:
                messages.error(request, _("The deadline for written statements has passed."))
            else:
                messages.success(request, _("Thank you: your statement is saved."))
            return redirect("panels:participation", token=token)
    elif request.method == "POST" and member.confirmation_open(now) and form.is_valid():
        if form.cleaned_data["answer"] == "confirm":
            domain.confirm_participation(member, attends_training=form.cleaned_data["training"] == "yes")
            messages.success(request, _("Thank you: your participation is confirmed."))
        else:
            domain.decline_participation(member, reason=form.cleaned_data["reason"])
            messages.success(request, _("Your answer is recorded. Thank you for letting us know."))
        return redirect("panels:participation", token=token)
    context = {
        "member": member,
        "form": form,
        "statement_form": statement_form,
        "token": token,
        "now": now,
        "statement_deadline": domain.statement_deadline(member),
        "virtual": member.panel.review.session.presession_format != "in_person",
        # How many missions said they would come (never which), once the speaker has confirmed.
        "missions_expected": attendance.expected_missions(member.panel.review) if member.confirmed_at else None,
        "visa_form": visa_form,
        "visa_letter": VisaLetter.objects.filter(member=member).first(),
        "visa_deadline": visa.latest_safe_request(member),
        "in_person": member.application.attendance != "remote",
        "mode_form": mode_form,
        "may_change_mode": remote.may_change_mode(member, now),
        "mode_deadline": remote.mode_deadline(member),
        "remote_link": remote.link_for(member, now),
        "link_shown_from": remote.link_shown_from(member),
        "today": timezone.localdate(),
    }
    status = 400 if visa_form.errors or mode_form.errors else 200
    return render(request, "panels/participation.html", context, status=status)


class ModeForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("How will you take part?"),
        choices=Attendance.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Say whether you will come to Geneva or speak remotely")},
    )


class VisaForm(forms.Form):
    full_name = forms.CharField(
        label=gettext_lazy("Your full name, exactly as in your passport"),
        max_length=200,
        error_messages={"required": gettext_lazy("Enter your name as it is written in your passport")},
    )
    nationality = forms.ChoiceField(
        label=gettext_lazy("Nationality"),
        choices=lambda: [("", "")] + list(countries),
        error_messages={"required": gettext_lazy("Choose your nationality")},
    )

    def clean_full_name(self):
        name = self.cleaned_data["full_name"]
        if visa.unwritable(name):
            raise forms.ValidationError(
                _(
                    "Write your name in Latin letters, as on the machine-readable line of your passport "
                    "(the letter cannot print: %(characters)s)"
                )
                % {"characters": visa.unwritable(name)}
            )
        return name

    language = forms.ChoiceField(
        label=gettext_lazy("Language of the letter"),
        choices=[("en", "English"), ("fr", "Français")],
        widget=forms.RadioSelect,
        initial="en",
    )


@private_page
@require_http_methods(["GET"])
def visa_letter_pdf(request, token):
    """The speaker's approved letter, as a PDF."""
    member = _member_for_token(token)
    letter = get_object_or_404(VisaLetter, member=member, status=VisaLetterStatus.APPROVED)
    if not visa.may_have_letter(member):  # declined or went remote since: the invitation no longer holds
        raise Http404
    response = HttpResponse(visa.render_pdf(letter), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="visa-support-letter.pdf"'
    return response


@staff_required
@require_http_methods(["GET", "POST"])
def visa_letters(request, number):
    """The session's letter requests: approve, refuse with a reason, or read the PDF first."""
    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    letters = (
        VisaLetter.objects.filter(member__panel__review__session=session)
        .select_related("member__application__organisation", "member__panel__review")
        .order_by("status", "requested_at")
    )
    if request.method == "POST":
        chosen = str(request.POST.get("letter", ""))
        letter = letters.filter(pk=_int(chosen)).first()
        if letter is None:
            messages.error(request, _("Choose a request of this session."))
            return redirect("panels:visa_letters", number=number)
        try:
            if request.POST.get("action") == "approve":
                visa.approve(letter, by=request.user)
                messages.success(request, _("Letter approved: the speaker can download it from their page."))
            elif len(request.POST.get("reason", "").strip()) > visa.REASON_MAX:
                messages.error(
                    request, _("Keep the reason under %(max)d characters: the speaker reads it.") % {"max": visa.REASON_MAX}
                )
            elif request.POST.get("reason", "").strip():
                visa.refuse(letter, by=request.user, reason=request.POST["reason"])
                messages.success(request, _("Request refused."))
            else:
                messages.error(request, _("Say why you refuse the request: the speaker sees it."))
        except ValueError:
            messages.error(request, _("This request was already decided, or the speaker has declined or takes part remotely."))
        return redirect("panels:visa_letters", number=number)
    context = _admin_context(request, session=session, letters=letters, title=_("Visa support letters"))
    return render(request, "admin/panels/visa_letters.html", context)


@staff_required
@require_http_methods(["GET"])
def visa_letter_staff_pdf(request, pk):
    _coordinator(request)
    letter = get_object_or_404(VisaLetter.objects.select_related("member__panel__review__session"), pk=pk)
    response = HttpResponse(visa.render_pdf(letter), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="visa-support-letter-{letter.pk}.pdf"'
    return response


class PublishForm(forms.Form):
    """Publish the draft: a version name and, when the draft has problems, why it is published anyway."""

    name = forms.CharField(label=gettext_lazy("Version name"), max_length=50, required=False)
    override_reason = forms.CharField(
        label=gettext_lazy("Publish despite the problems, because"),
        help_text=gettext_lazy("Only when the problems listed above cannot wait. The reason is recorded with the version."),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def schedule_staff(request, number):
    """Build the week, move meetings by hand, and publish a release."""
    _coordinator(request)
    session = get_object_or_404(Session, number=number)
    result = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "build":
            result = publishing.build_schedule(session)
        elif action == "move":
            review = get_object_or_404(StateReview, pk=request.POST.get("review"), session=session)
            try:
                day = dt.date.fromisoformat(request.POST.get("date", ""))
                time = dt.time.fromisoformat(request.POST.get("time", ""))
            except ValueError:
                messages.error(request, _("Enter the date as YYYY-MM-DD and the time as HH:MM."))
                return redirect("panels:schedule_staff", number=number)
            starts = timezone.make_aware(dt.datetime.combine(day, time), timezone.get_default_timezone())
            result = publishing.move_meeting(review, starts_at=starts, room=request.POST.get("room", ""))
        elif action == "unfix":
            MeetingPlacement.objects.filter(review_id=request.POST.get("review"), review__session=session).update(fixed=False)
            result = publishing.build_schedule(session)
        elif action == "publish":
            form = PublishForm(request.POST)
            if form.is_valid():
                try:
                    release = publishing.publish(
                        session,
                        name=form.cleaned_data["name"].strip(),
                        by=request.user,
                        override_reason=form.cleaned_data["override_reason"],
                    )
                except publishing.ScheduleNotReady:
                    form.add_error(
                        "override_reason",
                        _(
                            "Not published: the draft has the problems listed above. Fix them, or give the reason to publish it as it is."
                        ),
                    )
                else:
                    messages.success(request, _("Version “%(name)s” is published.") % {"name": release.name})
                    return redirect("panels:schedule_staff", number=number)
            return _schedule_page(request, session, form, status=400)
        if result is not None:
            changes = publishing.describe_week_changes(result)
            if changes:
                messages.info(request, " ".join([_("To hold the meetings, the week changed:"), *changes]))
            if not result.ok:
                messages.warning(request, _("The week cannot hold every meeting as placed: see the problems listed below."))
        return redirect("panels:schedule_staff", number=number)
    return _schedule_page(request, session, PublishForm())


def _schedule_page(request, session, publish_form, status=200):
    """The staff schedule: the mornings, what building the week would add, the draft's problems in words, the releases."""
    placements = list(
        MeetingPlacement.objects.filter(review__session=session).select_related("review").order_by("starts_at", "review__order")
    )
    releases = list(ScheduleRelease.objects.filter(session=session).order_by("-number").only("number", "name", "published_at"))
    overrides = publishing.overrides(releases)
    for release in releases:
        release.override = overrides.get(release.pk)
    context = _admin_context(
        request,
        title=_("Schedule"),
        session=session,
        days=publishing.planned_days(session),
        proposal=publishing.describe_week_changes(publishing.plan_week(session)),
        placements=placements,
        problems=publishing.draft_problems(session) if placements or publish_form.errors else [],
        publish_form=publish_form,
        releases=releases,
    )
    return render(request, "admin/panels/schedule.html", context, status=status)


@staff_required
@require_http_methods(["GET"])
def statement_file(request, pk):
    """A speaker's written statement, for the coordinator, public or not yet (streamed, never a storage link)."""
    _coordinator(request)
    member = get_object_or_404(PanelMember, pk=pk)
    return private_file(member.statement_file, filename=f"statement-{member.pk}.pdf")
