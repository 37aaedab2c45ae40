from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe
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
