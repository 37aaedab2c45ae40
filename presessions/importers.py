"""
Load the reference data shipped in presessions/data/: the UPR calendar, the
Geneva calendar around it (the Human Rights Council's main sessions and the
real dates of past Pre-session series) and the human-rights themes.

The loaders are idempotent. By default they only create what is missing, so
that a second run changes nothing and staff corrections made in the admin are
never overwritten; with overwrite=True, rows that differ from the file are
brought back in line with it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

from django.db import transaction

from .countries import CALENDAR_FILE, DATA_DIR
from .enums import CalendarStatus, ReviewStatus
from .models import Call, CouncilSession, Cycle, Session, StateReview, Theme, call_close_moment, call_open_moment

THEMES_FILE = DATA_DIR / "upr-themes.json"
GENEVA_FILE = DATA_DIR / "geneva-calendar.json"

MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
RESCHEDULED_FROM = re.compile(r"rescheduled_from_session_(\d+)")


def parse_expected_month(text: str | None) -> dt.date | None:
    """Turn "2026 April-May" or "2026 October-November (UNCERTAIN)" into its first month."""
    if not text:
        return None
    match = re.match(r"\s*(\d{4})\s+([A-Za-z]+)", text)
    if not match or match.group(2).lower() not in MONTHS:
        return None
    return dt.date(int(match.group(1)), MONTHS[match.group(2).lower()], 1)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _sync(model, lookup: dict, values: dict, overwrite: bool, counts: Counter):
    """Create the row if missing; update differing fields only when overwriting."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        counts[f"{model._meta.model_name} created"] += 1
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed and overwrite:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
        counts[f"{model._meta.model_name} updated"] += 1
    elif changed:
        counts[f"{model._meta.model_name} kept (edited)"] += 1
    else:
        counts[f"{model._meta.model_name} unchanged"] += 1
    return obj


def _review_status(session_data: dict, state: dict, today: dt.date) -> tuple[str, str]:
    special = state.get("status", "")
    if special == "not_reviewed_rescheduled":
        return (
            ReviewStatus.NON_COOPERATION,
            "Did not take part; the Human Rights Council rescheduled the review (decision of 7 November 2025).",
        )
    if RESCHEDULED_FROM.match(special):
        number = RESCHEDULED_FROM.match(special).group(1)
        return ReviewStatus.SCHEDULED, f"Rescheduled from session {number}. Exact date UNCERTAIN."
    if special == "reported_rescheduled_uncertain":
        return ReviewStatus.SCHEDULED, "Reported as moved to this session; stakeholder submissions suspended. UNCERTAIN."
    end = _date(session_data.get("end"))
    if session_data.get("status") == "held" or (end and end < today):
        return ReviewStatus.REVIEWED, ""
    return ReviewStatus.SCHEDULED, ""


@transaction.atomic
def load_calendar(path: Path = CALENDAR_FILE, *, overwrite: bool = False, today: dt.date | None = None) -> Counter:
    """
    Load the cycle, its sessions and their States from the calendar JSON.

    Side effects, in order: the cycle, each session, each State's review,
    then the links from a non-cooperating State's review to the session it
    was rescheduled to. Return a count of what was created or kept.
    """
    today = today or dt.date.today()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    counts: Counter = Counter()
    cycle_data = data["cycle"]
    cycle = _sync(
        Cycle,
        {"number": cycle_data["number"]},
        {"period": cycle_data.get("period", ""), "notes": cycle_data.get("note", "")},
        overwrite,
        counts,
    )
    rescheduled: list[tuple[str, int, Session]] = []
    for item in data["sessions"]:
        session = _sync(
            Session,
            {"number": item["session"]},
            {
                "cycle": cycle,
                "start_date": _date(item.get("start")),
                "end_date": _date(item.get("end")),
                "expected_month": parse_expected_month(item.get("expected_period")),
                "calendar_status": CalendarStatus.INFERRED if item.get("status") == "inferred" else CalendarStatus.CONFIRMED,
                "order_is_official": bool(item.get("order_is_official")),
                "stakeholder_deadline": _date(item.get("stakeholder_submission_deadline")),
                "national_report_deadline": _date(item.get("national_report_deadline")),
                "notes": item.get("notes", ""),
                "sources": "\n".join(item.get("sources", [])),
            },
            overwrite,
            counts,
        )
        for position, state in enumerate(item["states"], start=1):
            status, note = _review_status(item, state, today)
            _sync(
                StateReview,
                {"session": session, "country": state["iso2"]},
                {"order": position, "status": status, "status_note": note},
                overwrite,
                counts,
            )
            match = RESCHEDULED_FROM.match(state.get("status", ""))
            if match:
                rescheduled.append((state["iso2"], int(match.group(1)), session))
    for code, from_number, to_session in rescheduled:
        StateReview.objects.filter(session__number=from_number, country=code, rescheduled_to__isnull=True).update(
            rescheduled_to=to_session
        )
    return counts


@transaction.atomic
def load_geneva_calendar(path: Path = GENEVA_FILE, *, overwrite: bool = False) -> Counter:
    """
    Load the Human Rights Council's main sessions, then the real dates of past Pre-session series.

    Run it after load_calendar: a series is applied to the Working Group session of the same
    number, and skipped while that session is not in the database. A series' Pre-session week
    fills the session's empty Pre-session dates (an empty date means "use the rule", so the
    real one is what is missing); a date staff entered is kept unless overwriting. Its call
    dates become the session's call, created if the session has none.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    counts: Counter = Counter()
    for item in data["council_sessions"]:
        _sync(
            CouncilSession,
            {"number": item["number"]},
            {
                "start_date": _date(item["start"]),
                "end_date": _date(item["end"]),
                "sources": "\n".join(item.get("sources", [])),
            },
            overwrite,
            counts,
        )
    sessions = Session.objects.in_bulk([item["series"] for item in data["presession_series"]], field_name="number")
    for item in data["presession_series"]:
        session = sessions.get(item["series"])
        if session is None:
            counts["series not in the calendar"] += 1
            continue
        known = {"presessions_start": _date(item["presessions_start"]), "presessions_end": _date(item["presessions_end"])}
        changed = [name for name, value in known.items() if getattr(session, name) != value]
        if changed and (overwrite or all(getattr(session, name) is None for name in changed)):
            for name in changed:
                setattr(session, name, known[name])
            session.save(update_fields=changed)
            counts["series dates filled"] += 1
        elif changed:
            counts["series dates kept (edited)"] += 1
        else:
            counts["series dates unchanged"] += 1
        if item.get("call_opens") and item.get("call_closes"):
            _sync(
                Call,
                {"session": session},
                {
                    "opens_at": call_open_moment(_date(item["call_opens"])),
                    "closes_at": call_close_moment(_date(item["call_closes"])),
                },
                overwrite,
                counts,
            )
    return counts


@transaction.atomic
def load_themes(path: Path = THEMES_FILE, *, overwrite: bool = False) -> Counter:
    """Load UPR Info's human-rights issue list as themes, with their French and Spanish labels."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    counts: Counter = Counter()
    for item in data["issues"]:
        _sync(
            Theme,
            {"slug": item["slug"]},
            {
                "label": item["label"],
                "label_fr": item.get("label_fr", ""),
                "label_es": item.get("label_es", ""),
                "source_label": item.get("source_label", ""),
            },
            overwrite,
            counts,
        )
    return counts
