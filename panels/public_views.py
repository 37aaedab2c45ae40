"""
The public schedule, for permanent missions: HTML, print, ICS and JSON.

Everything is rendered from the latest published release, which never
changes; so each response carries the release's ETag and publication time,
a repeated request gets a 304, and rendered pages are cached by release and
language. Serving costs the same few queries whatever the size of the week.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.messages import get_messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import condition, require_http_methods, require_safe
from django_ratelimit.decorators import ratelimit
from icalendar import Calendar, Event

from applications.models import describe_anonymously
from outbox import links
from outbox.links import absolute
from presessions import caching
from presessions.countries import display_name
from presessions.models import Session
from presessions.web import private_file, private_page

from . import publishing
from .models import ScheduleRelease, ScheduleSubscription

CACHE_SECONDS = 24 * 3600
AGENDA_LABELS = {
    "opening": _("Opening by the moderator"),
    "state": _("Statement by the State under Review"),
    "speaker": _("Speaker"),
    "questions": _("Questions from the permanent missions"),
    "closing": _("Closing"),
}


def _latest(request, number) -> dict | None:
    """The latest release's id, ETag and time: from the cache, or one small query."""
    return caching.per_request(request, "schedule-latest", lambda: publishing.latest_meta(number))


def _release(request, number) -> ScheduleRelease | None:
    """The whole latest release; only read on a cache miss, since parsing its payload is the costly part."""
    latest = _latest(request, number)
    return ScheduleRelease.objects.select_related("session").get(pk=latest["pk"]) if latest else None


def _etag(request, number, iso2=None, kind="html"):
    latest = _latest(request, number)
    return f"{latest['etag']}-{translation.get_language()}-{kind}" if latest else None


def _cached(request, key: str, build) -> bytes:
    """
    The bytes kept under `key` (a release never changes), built and kept on the first request;
    built and not kept for a request whose page may differ from everyone's: a message waiting for
    this visitor, a query string, or another spelling of the address (its links would carry them).
    """
    if len(get_messages(request)) or request.META.get("QUERY_STRING") or caching.canonical_path(request) != request.path:
        return build()
    return caching.remember(key, build, CACHE_SECONDS)


def _speaker_label(speaker: dict) -> str:
    if speaker.get("organisation"):
        return f"{speaker['name']}, {speaker['organisation']}" if speaker.get("name") else speaker["organisation"]
    return describe_anonymously(speaker["kind"], speaker["scope"])


def _public_meeting(meeting: dict, meta: dict) -> dict:
    """A release's meeting with only the speakers who are public now (publishing.visible_speaker)."""
    speakers = [v for s in meeting["speakers"] if (v := publishing.visible_speaker(s, meta)) is not None]
    return {**meeting, "speakers": speakers}


def _view_meeting(meeting: dict, meta: dict) -> dict:
    meeting = _public_meeting(meeting, meta)
    speakers = {s["position"]: s for s in meeting["speakers"]}
    agenda = []
    for item in meeting["agenda"]:
        label = str(AGENDA_LABELS[item["kind"]])
        if item["kind"] == "speaker" and item["speaker"] in speakers:
            label = _speaker_label(speakers[item["speaker"]])
        agenda.append({**item, "label": label, "start_time": item["start"][11:16], "end_time": item["end"][11:16]})
    return {
        **meeting,
        "state_name": display_name(meeting["iso2"]),
        "start_time": meeting["start"][11:16],
        "end_time": meeting["end"][11:16],
        "date": dt.date.fromisoformat(meeting["start"][:10]),
        "agenda_view": agenda,
        "speaker_labels": [(_speaker_label(s), s.get("statement")) for s in meeting["speakers"]],
    }


def _days(release: ScheduleRelease, meta: dict) -> list[dict]:
    return [
        {"date": dt.date.fromisoformat(day["date"]), "meetings": [_view_meeting(m, meta) for m in day["meetings"]]}
        for day in release.payload["days"]
    ]


@caching.shared_response
@require_safe
@condition(etag_func=_etag)
def schedule(request, number):
    latest = _latest(request, number)
    if latest is None:
        session = get_object_or_404(Session, number=number)
        return render(request, "panels/schedule_unpublished.html", {"session": session})

    today = timezone.localdate().isoformat()

    def build():
        release = _release(request, number)
        # Missions answer only for meetings still to come: no link once the week is over.
        attend_open = any(str(day["date"]) >= today for day in release.payload.get("days", []))
        context = {"release": release, "session": release.session, "days": _days(release, latest), "attend_open": attend_open}
        return render(request, "panels/schedule.html", context).content

    return HttpResponse(_cached(request, f"schedule:{latest['etag']}:{translation.get_language()}:{today}:week", build))


@caching.shared_response
@require_safe
@condition(etag_func=_etag)
def meeting(request, number, iso2):
    latest = _latest(request, number)
    if latest is None:
        raise Http404("No published schedule")

    def build():
        release = _release(request, number)
        days = release.payload["days"]
        found = next((m for day in days for m in day["meetings"] if m["iso2"].lower() == iso2.lower()), None)
        if found is None:
            raise Http404("No meeting for this State")
        context = {"release": release, "session": release.session, "meeting": _view_meeting(found, latest)}
        return render(request, "panels/meeting.html", context).content

    return HttpResponse(_cached(request, f"schedule:{latest['etag']}:{translation.get_language()}:{iso2.lower()}", build))


@require_safe
def changes(request, number):
    session = get_object_or_404(Session, number=number)
    releases = list(ScheduleRelease.objects.filter(session=session).order_by("-number").defer("payload"))
    for release in releases:
        release.changes_view = [{**c, "state_name": display_name(c["iso2"])} for c in release.changes]
    return render(request, "panels/changes.html", {"session": session, "releases": releases})


def _aware(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _build_ics(request, number) -> bytes:
    release, latest = _release(request, number), _latest(request, number)
    calendar = Calendar()
    calendar.add("prodid", "-//UPR Info//Pre-session Manager//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"UPR Info Pre-sessions {number}")
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    with translation.override("en"):
        for day in release.payload["days"]:
            for item in day["meetings"]:
                view = _view_meeting(item, latest)
                event = Event()
                # Stable across releases, so an update replaces the event instead of adding one.
                event.add("uid", f"presession-{number}-{item['iso2'].lower()}@upr-info.org")
                event.add("sequence", release.number)
                event.add("dtstamp", release.published_at)
                event.add("dtstart", _aware(item["start"]))
                event.add("dtend", _aware(item["end"]))
                event.add("summary", f"Pre-session: {view['state_name']}")
                event.add("location", item["room"] or "Palais des Nations, Geneva")
                lines = [f"{a['start_time']}-{a['end_time']} {a['label']}" for a in view["agenda_view"]]
                if item.get("online_link"):
                    lines.append(item["online_link"])
                event.add("description", "\n".join(lines))
                event.add("url", absolute("panels:meeting", number, item["iso2"].lower()))
                calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


@caching.shared_response
@require_safe
@condition(etag_func=lambda r, number: _etag(r, number, kind="ics"))
def ics(request, number):
    latest = _latest(request, number)
    if latest is None:
        raise Http404("No published schedule")
    body = _cached(request, f"schedule-ics:{latest['etag']}", lambda: _build_ics(request, number))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="presessions-{number}.ics"'
    return response


@caching.shared_response
@require_safe
@condition(etag_func=lambda r, number: _etag(r, number, kind="json"))
def schedule_json(request, number):
    release, latest = _release(request, number), _latest(request, number)
    if release is None:
        raise Http404("No published schedule")
    with translation.override("en"):
        days = [
            {
                "date": day["date"],
                "meetings": [{**_public_meeting(m, latest), "state_name": display_name(m["iso2"])} for m in day["meetings"]],
            }
            for day in release.payload["days"]
        ]
    data = {
        "version": release.name,
        "release": release.number,
        "published_at": release.published_at.isoformat(),
        **release.payload,
        "days": days,
    }
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@require_safe
def statement(request, key):
    """A speaker's written statement, while staff keep it public and the speaker is public."""
    member = get_object_or_404(publishing.public_speakers(), statement_key=key, statement_public=True)
    return private_file(member.statement_file, filename="statement.pdf", as_attachment=False)


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.org"),
        },
    )


@ratelimit(key="ip", rate=lambda group, request: settings.APPLICATION_RATELIMIT, method="POST", block=False)
@require_http_methods(["GET", "POST"])
def subscribe(request, number):
    session = get_object_or_404(Session, number=number)
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and getattr(request, "limited", False):
        return render(request, "applications/too_many.html", {"session": session}, status=429)
    if request.method == "POST" and form.is_valid():
        publishing.subscribe(session, email=form.cleaned_data["email"], language=translation.get_language() or "en")
        return render(request, "panels/subscribe_sent.html", {"session": session})
    return render(request, "panels/subscribe.html", {"session": session, "form": form})


def _subscription(token) -> ScheduleSubscription:
    try:
        key = links.unsign(token, publishing.SUBSCRIPTION_SALT)
    except links.BadLink as exc:
        raise Http404 from exc
    return get_object_or_404(ScheduleSubscription.objects.select_related("session"), key=key)


@private_page
@require_http_methods(["GET", "POST"])
def subscription_confirm(request, token):
    sub = _subscription(token)
    if request.method == "POST":
        ScheduleSubscription.objects.filter(pk=sub.pk, confirmed_at__isnull=True).update(confirmed_at=timezone.now())
        return redirect("panels:schedule", number=sub.session.number)
    return render(request, "panels/subscription_confirm.html", {"sub": sub})


@private_page
@csrf_exempt  # the signed link is the credential; RFC 8058 one-click unsubscribe posts without a token
@require_http_methods(["GET", "POST"])
def subscription_unsubscribe(request, token):
    sub = _subscription(token)
    what = _("schedule updates for Working Group %(number)s") % {"number": sub.session.number}
    if request.method == "POST":
        ScheduleSubscription.objects.filter(pk=sub.pk).update(unsubscribed_at=timezone.now())
        return render(request, "applications/unsubscribed.html", {"what": what})
    return render(request, "applications/unsubscribe_confirm.html", {"what": what})
