"""The record (panels.record): a staff page with the CSV for donor reports, and the public summary."""

from __future__ import annotations

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from presessions.caching import public_page
from presessions.web import staff_required

from . import record
from .views import _admin_context, _coordinator

GROUPINGS = {"session": "session", "cycle": "cycle", "overall": None}


def _bars(rows: list[record.Figures], attribute: str) -> list[dict]:
    """One bar per row, its width as a share of the largest (for the server-rendered SVG chart)."""
    values = [(row.key, getattr(row, attribute) or 0) for row in rows]
    top = max((value for _key, value in values), default=0) or 1
    return [
        {"key": key, "value": value, "width": round(300 * value / top), "y": 24 * index}
        for index, (key, value) in enumerate(values)
    ]


def _context() -> dict:
    sessions = record.figures("session")
    overall = record.figures(None)[0]
    return {
        "columns": record.COLUMNS,
        "overall": overall,
        "overall_rows": list(zip(record.COLUMNS.values(), overall.values(), strict=True)),
        "cycles": record.figures("cycle"),
        "sessions": sessions,
        "speaker_bars": _bars(sessions, "confirmed"),
        "mission_bars": _bars(sessions, "missions_per_meeting"),
        "chart_height": 24 * len(sessions),
    }


@staff_required
@require_safe
def record_staff(request):
    _coordinator(request)
    return render(request, "admin/panels/record.html", _admin_context(request, title=_("The record"), **_context()))


@staff_required
@require_safe
def record_csv(request, by):
    """The record as CSV, grouped by session, cycle, or overall, for donor reports."""
    _coordinator(request)
    if by not in GROUPINGS:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="pre-sessions-record-{by}-{timezone.localdate():%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    for row in record.csv_rows(GROUPINGS[by]):
        writer.writerow(row)
    return response


@require_safe
@public_page
def record_public(request):
    """The same figures for everyone: counts only, nobody named."""
    return render(request, "panels/record.html", _context())
