"""
The coordinator's review page for a session (assign reviewers, progress, conflicts) and each
reviewer's own queue. Thin: the rules are in applications.reviewing, conflicts and assignment.
"""

from __future__ import annotations

from collections import Counter

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_safe

from presessions.models import Session
from presessions.web import staff_required

from . import assessment, conflicts, reviewing
from .forms import posted_pk
from .models import Application, Assessment, ReviewAssignment, ReviewerProfile

EXTRA = {
    "asked": gettext_lazy("one more reviewer asked"),
    "taken out": gettext_lazy("one more reviewer asked, then taken out"),
    "none free": gettext_lazy("no reviewer free: add one by hand"),
    "not applied": gettext_lazy("asked once assignments are applied"),
}


@staff_required
@require_http_methods(["GET", "HEAD", "POST"])
def reviewers(request, number):
    """Assign reviewers for a session: propose, adjust by hand, apply; progress and conflicts."""
    if not assessment.is_coordinator(request.user):
        raise PermissionDenied
    session = get_object_or_404(Session.objects.select_related("call"), number=number, call__isnull=False)
    if request.method == "POST":
        return _act(request, session)
    users = list(conflicts.reviewer_users(session))
    found = conflicts.for_session(session, users)
    progress = reviewing.progress(session)
    proposed = Counter(
        ReviewAssignment.objects.filter(application__review__session=session, applied_at__isnull=True).values_list(
            "reviewer_id", flat=True
        )
    )
    pool = reviewing.reviewable(session)
    per_state = Counter(pool.values_list("review_id", flat=True))
    proposed_by_state = Counter(
        ReviewAssignment.objects.filter(application__review__session=session, applied_at__isnull=True).values_list(
            "application__review_id", flat=True
        )
    )
    k = session.call.reviews_per_application
    attention = reviewing.attention(session)
    states = [
        {
            "review": review,
            "applications": per_state[review.pk],
            "needed": per_state[review.pk] * k,
            "given": attention["given"].get(review.pk, 0),
            "assigned": progress["states"].get(review.pk, {}).get("assigned", 0),
            "done": progress["states"].get(review.pk, {}).get("done", 0),
            "proposed": proposed_by_state[review.pk],
        }
        for review in session.reviews.taking_place().order_by("order")
    ]
    default_capacity = ReviewerProfile._meta.get_field("capacity").default
    people = [
        {
            "user": user,
            "capacity": getattr(conflicts.profile_of(user), "capacity", default_capacity),
            "assigned": progress["reviewers"].get(user.pk, {}).get("assigned", 0),
            "done": attention["given_by"].get(user.pk, 0),
            "proposed": proposed[user.pk],
        }
        for user in users
    ]
    names = {
        a.pk: a
        for a in Application.objects.filter(pk__in={c.application_id for c in found}).select_related("organisation", "review")
    }
    by_id = {u.pk: u for u in users}
    conflict_rows = [
        {
            "application": names.get(c.application_id),
            "reviewer": by_id.get(c.reviewer_id),
            "cause": c.cause_label,
            "detail": c.detail,
        }
        for c in found
        if c.application_id in names
    ]
    pending = (
        ReviewAssignment.objects.filter(application__review__session=session, applied_at__isnull=True)
        .select_related("application__organisation", "application__review", "reviewer")
        .order_by("application__review__order", "application_id", "reviewer_id")
    )
    context = {
        **admin.site.each_context(request),
        "title": _("Reviewers"),
        "session": session,
        "k": k,
        "states": states,
        "people": people,
        "conflicts": conflict_rows,
        "pending": pending,
        "reviewer_choices": users,
        "short": attention["short"],
        "disagreements": [{**row, "extra": EXTRA[row["extra"]]} for row in attention["disagreements"]],
    }
    return render(request, "admin/applications/reviewers.html", context)


def _act(request, session):
    action = request.POST.get("action")
    reviewing.repair(session)  # assignments that no longer hold are handed on before anything else
    if action == "propose":
        proposal = reviewing.propose(session)
        count = len(proposal.pairs)
        messages.success(
            request,
            ngettext(
                "Proposal ready: %(count)d review to add. Check it below, then apply it.",
                "Proposal ready: %(count)d reviews to add. Check it below, then apply it.",
                count,
            )
            % {"count": count},
        )
        if proposal.short:
            short = len(proposal.short)
            messages.warning(
                request,
                ngettext(
                    "%(count)d application cannot get all its reviews: add reviewers, capacity or languages.",
                    "%(count)d applications cannot get all their reviews: add reviewers, capacity or languages.",
                    short,
                )
                % {"count": short},
            )
    elif action == "apply":
        count = reviewing.apply(session)
        messages.success(request, ngettext("%(count)d review assigned.", "%(count)d reviews assigned.", count) % {"count": count})
    elif action == "take_out":
        row = ReviewAssignment.objects.filter(
            application_id=posted_pk(request.POST.get("application")),
            reviewer_id=posted_pk(request.POST.get("reviewer")),
            application__review__session=session,
        ).first()
        if row is None:
            messages.error(request, _("This reviewer has no assignment for this application."))
        elif Assessment.objects.filter(application=row.application_id, assessor=row.reviewer_id, total__isnull=False).exists():
            messages.error(request, _("This reviewer has already reviewed this application: a review given stays."))
        else:
            reviewing.drop(row)
            messages.success(request, _("Taken out. Assign reviewers again to give the application another reviewer."))
    elif action == "drop":
        row = ReviewAssignment.objects.filter(
            pk=posted_pk(request.POST.get("assignment")), application__review__session=session
        ).first()
        if row is not None:
            reviewing.drop(row)
            messages.success(request, _("Taken out."))
    elif action == "add":
        application = Application.objects.filter(pk=posted_pk(request.POST.get("application")), review__session=session).first()
        reviewer = conflicts.reviewer_users(session).filter(pk=posted_pk(request.POST.get("reviewer"))).first()
        if application is None or reviewer is None:
            messages.error(request, _("Choose an application of this session and a reviewer."))
        else:
            try:
                reviewing.add(application, reviewer)
            except reviewing.NotAllowed as refusal:
                reason = {
                    "conflict": _("This reviewer has a conflict with this application."),
                    "already": _("This reviewer already has this application."),
                    "state": _("This reviewer does not review this State."),
                    "language": _("This reviewer does not work in the application's language."),
                    "capacity": _("This reviewer is at full capacity."),
                }.get(str(refusal), _("This application is not open for review."))
                messages.error(request, reason)
            else:
                messages.success(request, _("Added."))
    return redirect("applications:reviewers", number=session.number)


@staff_required
@require_safe
def my_reviews(request):
    """A reviewer's own queue: what they were asked to review, what they have done, and by when."""
    rows = (
        reviewing.current_assignments(request.user)
        .select_related("application__organisation", "application__review__session__call")
        .order_by("application__review__session__number", "application__review__order", "application_id")
    )
    done = set(request.user.assessments.filter(total__isnull=False).values_list("application_id", flat=True))
    items = [{"row": row, "done": row.application_id in done} for row in rows]
    context = {
        **admin.site.each_context(request),
        "title": _("Your reviews"),
        "items": items,
        "done": sum(1 for item in items if item["done"]),
    }
    return render(request, "admin/applications/my_reviews.html", context)
