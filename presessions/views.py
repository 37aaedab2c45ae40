from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe
from django_countries import countries

from .caching import public_page
from .countries import display_name
from .forms import CountryFinderForm
from .models import Call, Session, StateReview

UPCOMING_SESSIONS_ON_HOME = 2


def _sessions():
    return Session.objects.with_call().prefetch_related(
        Prefetch("reviews", queryset=StateReview.objects.select_related("rescheduled_to"))
    )


@require_safe
def healthz(request):
    """Answer without touching the database: the framework's own limit."""
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def switch_language(request, code):
    """
    Remember the chosen language in a cookie and go back to the page.

    A plain link rather than Django's POST-only set_language: it works with
    JavaScript off and keeps public pages free of CSRF tokens, so they stay
    cacheable. URLs stay the same in every language.
    """
    if code not in dict(settings.LANGUAGES):
        raise Http404("Unknown language")
    next_url = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


@require_safe
@public_page
def home(request):
    now = timezone.now()
    open_calls = list(Call.objects.open_at(now).select_related("session__cycle").order_by("closes_at"))
    upcoming = list(_sessions().upcoming(timezone.localdate(now)).order_by("number")[:UPCOMING_SESSIONS_ON_HOME])
    return render(request, "presessions/home.html", {"open_calls": open_calls, "upcoming": upcoming, "now": now})


@require_safe
@public_page
def calendar(request):
    sessions = list(_sessions().order_by("number"))
    form = CountryFinderForm(request.GET or None)
    answer = None
    if form.is_valid():
        answer = form.answer(sessions)
    years = sorted({s.year for s in sessions if s.year})
    return render(
        request,
        "presessions/calendar.html",
        {"sessions": sessions, "years": years, "form": form, "answer": answer, "now": timezone.now()},
    )


@require_safe
@public_page
def country(request, iso2):
    code = iso2.upper()
    if code not in countries:
        raise Http404("Unknown country code")
    reviews = list(
        StateReview.objects.filter(country=code)
        .select_related("session__cycle", "session__call", "rescheduled_to")
        .order_by("-session__number")
    )
    return render(
        request,
        "presessions/country.html",
        {"code": code, "name": display_name(code), "reviews": reviews, "now": timezone.now()},
    )


@require_safe
@public_page
def session(request, number):
    obj = get_object_or_404(_sessions(), number=number)
    return render(request, "presessions/session.html", {"session": obj, "now": timezone.now()})


@require_safe
@public_page
def faq(request):
    return render(request, "presessions/faq.html")


@require_safe
@public_page
def about(request):
    return render(request, "presessions/about.html")
