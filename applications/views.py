import functools
import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from django_ratelimit.decorators import ratelimit

from outbox.enums import EmailStatus
from outbox.models import Email
from presessions import caching
from presessions.countries import display_name
from presessions.forms import error_summary
from presessions.models import Session
from presessions.web import DatabaseUnavailable, private_file, private_page, staff_required

from . import assessment as assessment_rules
from . import domain, privacy
from .answers import as_text, posted_answers
from .dashboard import session_stats
from .enums import ApplicationStatus
from .forms import ApplicationForm, CallAlertForm, EraseForm, OrganisationForm
from .models import Application, CallAlert
from .tokens import ALERT_SALT, EMAIL_CHANGE_SALT, UNSUBSCRIBE_SALT, key_from_token

logger = logging.getLogger(__name__)


def _rate(group, request):
    return settings.APPLICATION_RATELIMIT


def _get_application_for_token(token: str) -> Application:
    """Return the application behind a private link, or 404 for an unknown or tampered link."""
    key = key_from_token(token)
    return get_object_or_404(Application.objects.with_related(), link_key=key, erased_at__isnull=True)


def _forms(request, session, *, instance=None, initial_review=None):
    draft = request.method == "POST" and request.POST.get("action") == "draft"
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    # An organisation may be shared by several applications (after staff merge duplicates): the
    # address shown and changed here is always this application's own.
    org_initial = {"email": instance.email} if instance else None
    org_form = OrganisationForm(data, instance=instance.organisation if instance else None, initial=org_initial, draft=draft)
    app_initial = {"form_token": uuid.uuid4()}
    if initial_review:
        app_initial["review"] = initial_review
    app_form = ApplicationForm(data, files, instance=instance, initial=app_initial, session=session, draft=draft)
    return org_form, app_form, draft


def _render_form(request, session, org_form, app_form, *, application=None):
    errors = []
    if org_form.is_bound:
        ordered_fields = [app_form["review"], *org_form, *(f for f in app_form if f.name != "review")]
        errors = error_summary(org_form, app_form, *ordered_fields)
    context = {
        "session": session,
        "call": session.call,
        "org_form": org_form,
        "app_form": app_form,
        "application": application,
        "errors": errors,
    }
    return render(request, "applications/apply.html", context)


def _closed(request, session, status=200):
    return render(request, "applications/call_closed.html", {"session": session, "call": session.call_or_none}, status=status)


def answers_back(request, *, session=None, closed: bool, status: int = 200):
    """
    A page that gives back everything the applicant posted, readable and ready to copy.

    After the close, it says so and whom to write to; when the service could not save the answers,
    it also offers to send them again as they are (the file must be chosen again).
    """
    answers = posted_answers(request.POST, request.FILES, session=session)
    call = session.call_or_none if session is not None and closed else None
    when = (lambda moment: date_format(timezone.localtime(moment), "DATETIME_FORMAT")) if call else None
    if closed and call is not None and call.state() == "upcoming":
        heading = _("The call is not open yet")
        explanation = _("The call opens on %(opens)s (Geneva time), so your answers were not saved.") % {
            "opens": when(call.opens_at)
        }
    elif closed:
        heading = _("The call has closed")
        explanation = (
            _("Your answers arrived after the call closed on %(closes)s (Geneva time), so they were not saved.")
            % {"closes": when(call.closes_at)}
            if call
            else _("Your answers arrived after the call closed, so they were not saved.")
        )
        explanation += " " + _(
            "Here is everything you wrote, so that nothing is lost. If you think this is a mistake, write to us."
        )
    else:
        heading = _("Your answers were not saved")
        explanation = _(
            "Because of a problem on our side, your answers could not be saved. Nothing was saved yet. "
            "Wait a minute, then send them again with the button below; a file must be attached again."
        )
    context = {
        "heading": heading,
        "explanation": explanation,
        "answers": answers,
        "text": as_text(answers),
        "resend": None if closed else request.path,
        "had_file": bool(request.FILES),
        "posted": [(key, request.POST.getlist(key)) for key in request.POST if key != "csrfmiddlewaretoken"],
    }
    return render(request, "applications/answers_back.html", context, status=status)


DATABASE_ERRORS = (OperationalError, InterfaceError)
# After a wait for the database came to nothing, this process answers at once for so long.
DATABASE_AWAY_SECONDS = 15.0
_database_away_until = 0.0


def survive_database_blips(view=None, *, fallback=None):
    """
    Try a request once more when the database connection dropped (a restart takes a second or two):
    wait for the database to answer again, up to DATABASE_RETRY_SECONDS, then run the view again.
    If it is still unreachable, a form post gets its answers back, never an error page that claims
    nothing was lost; a GET gets `fallback(request, ...)` if it has one to give, else a 503 page.
    """
    if view is None:
        return functools.partial(survive_database_blips, fallback=fallback)

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        global _database_away_until
        try:
            return view(request, *args, **kwargs)
        except DATABASE_ERRORS:
            pass
        # Wait for a restarting database, unless this process found it down a moment ago: then answer
        # at once, so that an outage cannot hold every worker in turn and leave later visitors waiting.
        waited = time.monotonic() >= _database_away_until
        if waited:
            logger.warning("Database unreachable during %s; waiting to try once more", request.path)
        if _wait_for_database(settings.DATABASE_RETRY_SECONDS if waited else 0):
            _database_away_until = 0.0
            for upload in request.FILES.values():
                upload.seek(0)
            try:
                return view(request, *args, **kwargs)
            except DATABASE_ERRORS:
                logger.error("Database still unreachable during %s", request.path, exc_info=True)
        connection.close()
        _database_away_until = time.monotonic() + DATABASE_AWAY_SECONDS
        if request.method == "POST":
            return answers_back(request, closed=False, status=503)
        if fallback is not None and (response := fallback(request, *args, **kwargs)) is not None:
            return response
        raise DatabaseUnavailable()

    return wrapped


def _wait_for_database(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        connection.close()
        try:
            connection.ensure_connection()
            return True
        except DATABASE_ERRORS:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)


# The blank form is kept with a slot in place of each visitor's own CSRF and form tokens
# (presessions.caching, mechanism 3).
BLANK_FORM_SECONDS = 60
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_FORM_TOKEN_INPUT = re.compile(r'name="app-form_token" value="([^"]+)"')


def _blank_form_key(request, number: int) -> str | None:
    """
    The cache key of the blank form a visitor is about to see, or None when the page is theirs alone.

    The blank form is the same for everyone who opens it in the same language, for the same
    session and preselected State, except its CSRF token and its one-time form token.
    """
    code = request.GET.get("state", "").upper()
    if request.method != "GET" or request.GET.keys() - {"state"} or (code and not re.fullmatch(r"[A-Z]{2}", code)):
        return None
    if len(get_messages(request)):
        return None
    version = caching.data_version()
    # Only the session's own States are worth a copy each: "?state=ZZ" would otherwise fill the cache.
    if code and code not in (caching.get_page(f"apply-states:{version}:{number}") or ()):
        return None
    return f"apply:{version}:{translation.get_language()}:{number}:{code}"


def _remember_states(session) -> None:
    """Keep the session's State codes beside the blank forms, for _blank_form_key."""
    key = f"apply-states:{caching.data_version()}:{session.number}"
    if caching.get_page(key) is None:
        codes = frozenset(code.upper() for code in session.reviews.values_list("country", flat=True))
        caching.set_page(key, codes, time.time() + BLANK_FORM_SECONDS)


def _from_cache(request, key: str) -> HttpResponse | None:
    content = caching.fill_slots(key, {"csrf": lambda: get_token(request), "form-token": lambda: str(uuid.uuid4())})
    return HttpResponse(content) if content is not None else None


def _to_cache(key: str, response, call) -> None:
    """Keep a blank form for a minute at most, and never past the call's close."""
    if response.status_code != 200:
        return
    content = response.content.decode()
    csrf, token = _CSRF_INPUT.search(content), _FORM_TOKEN_INPUT.search(content)
    personal = {"csrf": csrf and csrf.group(1), "form-token": token and token.group(1)}
    if caching.keep_with_slots(key, content, personal, min(time.time() + BLANK_FORM_SECONDS, call.closes_at.timestamp())):
        # A copy that outlives the data version, for when the database is away (see _form_without_database).
        caching.keep_with_slots(_spare_key(key), content, personal, call.closes_at.timestamp())


def _spare_key(key: str) -> str:
    """apply:<version>:<language>:<number>:<state> -> apply-spare:<language>:<number>:<state>."""
    _prefix, _version, rest = key.split(":", 2)
    return f"apply-spare:{rest}"


def _form_without_database(request, number) -> HttpResponse | None:
    """
    The blank form as last served, while the database is away: applicants can still fill it in, and
    a post then gets its answers back to send again. None if no copy was kept.
    """
    key = _blank_form_key(request, number)
    return _from_cache(request, _spare_key(key)) if key else None


# Each visitor's own tokens: never kept by a shared cache (an nginx page cache, a corporate proxy).
@cache_control(private=True)
@survive_database_blips(fallback=lambda request, number: _form_without_database(request, number))
@ratelimit(key="ip", rate=_rate, method="POST", block=False)
@require_http_methods(["GET", "POST"])
def apply(request, number):
    key = _blank_form_key(request, number)
    if key and (response := _from_cache(request, key)):
        return response
    session = get_object_or_404(Session.objects.with_call(), number=number)
    call = session.call_or_none
    if call is None or not call.is_open:
        return answers_back(request, session=session, closed=True) if request.method == "POST" else _closed(request, session)
    if getattr(request, "limited", False):
        return render(request, "applications/too_many.html", {"session": session}, status=429)
    _remember_states(session)
    code = request.GET.get("state", "").upper()
    initial_review = session.reviews.filter(country=code).first() if code else None
    org_form, app_form, draft = _forms(request, session, initial_review=initial_review)
    if request.method == "POST" and org_form.is_valid() & app_form.is_valid():
        try:
            domain.create_application(
                org_form=org_form, app_form=app_form, draft=draft, language=translation.get_language() or "en"
            )
        except domain.CallNotOpen:
            return answers_back(request, session=session, closed=True)
        except domain.DuplicateApplication as duplicate:
            domain.send_link_again(duplicate.existing)
        # One answer whether the email had applied for this State or not: anyone may type any
        # address here, so the page must not tell them. The link goes to that address either way.
        return redirect("applications:sent", number=session.number)
    response = _render_form(request, session, org_form, app_form)
    if key:
        _to_cache(key, response, call)
    return response


@require_safe
def sent(request, number):
    """After a new application or draft: check your email (the same page whatever the address had done before)."""
    session = get_object_or_404(Session.objects.with_call(), number=number)
    return render(request, "applications/check_email.html", {"session": session, "call": session.call_or_none})


@private_page
@require_http_methods(["GET"])
def detail(request, token):
    erased = Application.objects.filter(link_key=key_from_token(token), erased_at__isnull=False).first()
    if erased is not None:
        # Whoever has the link learns only that the data was erased, and when.
        return render(request, "applications/erased.html", {"erased_at": erased.erased_at}, status=410)
    application = _get_application_for_token(token)
    context = {"application": application, "token": token, "now": timezone.now(), "call": application.call}
    return render(request, "applications/detail.html", context)


@private_page
@survive_database_blips
@ratelimit(key="ip", rate=_rate, method="POST", block=False)
@require_http_methods(["GET", "POST"])
def edit(request, token):
    application = _get_application_for_token(token)
    session = application.review.session
    if not application.can_edit():
        if request.method == "POST" and application.status in ApplicationStatus.editable_states():
            return answers_back(request, session=session, closed=True)  # the call closed while they typed
        messages.error(request, _("This application can no longer be changed."))
        return redirect(application.get_private_url())
    if getattr(request, "limited", False):
        return render(request, "applications/too_many.html", {"session": session}, status=429)
    org_form, app_form, draft = _forms(request, session, instance=application)
    if request.method == "POST" and org_form.is_valid() & app_form.is_valid():
        new_email = org_form.cleaned_data["email"].strip().lower()
        # Only the application's own address is checked here: a new address waits for its owner's confirmation.
        if domain.email_taken(email=application.email, review=app_form.cleaned_data["review"], exclude=application):
            app_form.add_error(
                "review", _("Your organisation has already applied for this State with this email. Use the link we sent you.")
            )
        else:
            try:
                domain.update_application(application, org_form=org_form, app_form=app_form, submit=not draft)
            except domain.CallNotOpen:
                return answers_back(request, session=session, closed=True)
            if new_email != application.email:
                domain.request_email_change(application, new_email)
                messages.success(
                    request,
                    _(
                        "Your changes are saved. To use %(email)s for this application, open the link we have just sent "
                        "to that address within three days. Until then, we keep writing to %(old)s."
                    )
                    % {"email": new_email, "old": application.email},
                )
            else:
                messages.success(request, _("Your changes are saved."))
            return redirect(application.get_private_url())
    return _render_form(request, session, org_form, app_form, application=application)


@private_page
@require_http_methods(["GET", "POST"])
def confirm_email(request, token):
    """The owner of a new organisation email confirms it (the link was sent to that address)."""
    key = key_from_token(token, EMAIL_CHANGE_SALT)
    application = get_object_or_404(Application.objects.with_related(), pending_email_key=key)
    if request.method == "POST":
        try:
            changed = domain.confirm_email_change(application)
        except domain.EmailChangeExpired:
            return render(request, "applications/email_change_expired.html", status=410)
        return render(request, "applications/email_changed.html", {"application": application, "changed": changed})
    return render(request, "applications/email_change_confirm.html", {"application": application})


@private_page
@require_http_methods(["GET", "POST"])
def withdraw(request, token):
    application = _get_application_for_token(token)
    if not application.can_withdraw():
        return redirect(application.get_private_url())
    if request.method == "POST":
        domain.withdraw_application(application)
        messages.success(request, _("Your application has been withdrawn."))
        return redirect(application.get_private_url())
    return render(request, "applications/withdraw.html", {"application": application, "token": token})


@private_page
@require_http_methods(["POST"])
def reopen(request, token):
    application = _get_application_for_token(token)
    try:
        domain.reopen_application(application)
    except domain.CallNotOpen:
        messages.error(request, _("The call is closed, so the application cannot be reopened."))
        return redirect(application.get_private_url())
    messages.success(request, _("Your application is a draft again. Check it and submit it before the deadline."))
    return redirect("applications:edit", token=token)


@private_page
@require_http_methods(["GET"])
def your_data(request, token):
    """Everything held about the application, as a page, with the JSON copy one click away."""
    application = _get_application_for_token(token)
    if application.status == ApplicationStatus.WITHDRAWN:
        return redirect(application.get_private_url())
    sections = privacy.held_data(application)
    return render(request, "applications/your_data.html", {"application": application, "token": token, "sections": sections})


@private_page
@require_http_methods(["GET"])
def your_data_json(request, token):
    application = _get_application_for_token(token)
    if application.status == ApplicationStatus.WITHDRAWN:
        return redirect(application.get_private_url())
    response = JsonResponse(privacy.held_data_json(application), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="application-{timezone.localdate():%Y-%m-%d}.json"'
    return response


@private_page
@require_http_methods(["GET", "POST"])
def erase(request, token):
    """Erase the application's data, after the applicant ticks that they understand it cannot be undone."""
    application = _get_application_for_token(token)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.erase_own_application(application)
        except privacy.AlreadyErased:
            pass
        return redirect("applications:detail", token=token)
    context = {
        "application": application,
        "token": token,
        "form": form,
        "errors": error_summary(form["confirm"]) if form.is_bound else [],
        "selected": application.told and application.status == ApplicationStatus.SELECTED,
    }
    return render(request, "applications/erase.html", context, status=400 if form.errors else 200)


@staff_required
def report_file(request, pk):
    """Let staff who may see the application download its uploaded report."""
    application = get_object_or_404(Application, pk=pk)
    if not assessment_rules.visible_applications(request.user).filter(pk=pk).exists():
        raise PermissionDenied
    return private_file(application.report_file, filename=f"report-{application.pk}.pdf")


@private_page
@csrf_exempt  # the signed link is the credential; mail clients send one-click unsubscribes as a bare POST
@require_http_methods(["GET", "POST"])
def reminders_off(request, token):
    key = key_from_token(token, UNSUBSCRIBE_SALT)
    application = get_object_or_404(Application.objects.select_related("review"), link_key=key, erased_at__isnull=True)
    if request.method == "POST":
        domain.stop_reminders(application)
        return render(request, "applications/unsubscribed.html", {"what": _("deadline reminders for this application")})
    return render(request, "applications/unsubscribe_confirm.html", {"what": _("deadline reminders for this application")})


@ratelimit(key="ip", rate=_rate, method="POST", block=False)
@require_http_methods(["GET", "POST"])
def alert_subscribe(request):
    initial = {"country": request.GET.get("country", "").upper()}
    form = CallAlertForm(request.POST or None, initial=initial)
    if request.method == "POST" and getattr(request, "limited", False):
        return render(request, "applications/too_many.html", {}, status=429)
    if request.method == "POST" and form.is_valid():
        domain.subscribe_to_call_alert(
            email=form.cleaned_data["email"], country=form.cleaned_data["country"], language=translation.get_language() or "en"
        )
        return redirect("applications:alert_sent")
    return render(request, "applications/alert_subscribe.html", {"form": form})


def alert_sent(request):
    return render(request, "applications/alert_sent.html")


def _alert_for_token(token):
    return get_object_or_404(CallAlert, key=key_from_token(token, ALERT_SALT))


@private_page
@require_http_methods(["GET", "POST"])
def alert_confirm(request, token):
    alert = _alert_for_token(token)
    if request.method == "POST":
        domain.confirm_call_alert(alert)
        return render(request, "applications/alert_confirmed.html", {"alert": alert})
    return render(request, "applications/alert_confirm.html", {"alert": alert})


@private_page
@csrf_exempt  # as for reminders_off: RFC 8058 one-click unsubscribe
@require_http_methods(["GET", "POST"])
def alert_unsubscribe(request, token):
    alert = _alert_for_token(token)
    what = _("alerts for %(country)s") % {"country": display_name(alert.country.code)}
    if request.method == "POST":
        domain.unsubscribe_call_alert(alert)
        return render(request, "applications/unsubscribed.html", {"what": what})
    return render(request, "applications/unsubscribe_confirm.html", {"what": what})


@staff_required
def dashboard(request, number):
    """The coordinator's view of one session: pool, diversity, themes and assessment progress."""
    if not assessment_rules.is_coordinator(request.user):
        raise PermissionDenied
    session = get_object_or_404(Session, number=number)
    sessions = Session.objects.filter(call__isnull=False).order_by("-number").values_list("number", flat=True)
    trouble = Email.objects.in_trouble().aggregate(
        failed=Count("pk", filter=Q(status=EmailStatus.FAILED)), retried=Count("pk", filter=Q(lease_expiries__gt=0))
    )
    context = {"session": session, "sessions": sessions, "outbox": trouble, **session_stats(session)}
    return render(request, "admin/applications/dashboard.html", context)
