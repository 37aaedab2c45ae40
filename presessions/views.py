from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from django_countries import countries

from .caching import public_page
from .countries import _fold as fold
from .countries import display_name, find_countries
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


@csrf_exempt  # the worst a forged post can do is change a visitor's language; public pages stay free of tokens
@require_POST
def switch_language(request):
    """
    Remember the chosen language in a cookie and go back to the page.

    A small form rather than links with `?next=`: a private page's address stays in the request
    body, out of every URL and so out of access logs. It works with JavaScript off, and URLs
    stay the same in every language.
    """
    code = request.POST.get("language", "")
    if code not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language")
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url, status=303)
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


def _finder_key(query: str) -> str | None:
    """A country finder query worth caching (one that finds a State), folded as the finder folds it; else None."""
    codes = find_countries(query)
    return ",".join(sorted(codes)) + ":" + " ".join(fold(query).split())[:100] if codes else None


@require_safe
@public_page(query={"q": _finder_key})
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


@require_safe
def request_too_large(request):
    """What nginx shows (error_page 413) when a body is larger than client_max_body_size: the same page as Django's own."""
    limit = settings.APPLICATION_UPLOAD_MAX_BYTES // (1024 * 1024)
    return render(request, "request_too_large.html", {"limit": limit}, status=413)
