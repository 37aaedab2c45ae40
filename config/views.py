"""The project's own pages: the liveness and readiness checks, the language switch, and the page for an oversized request."""

from django.conf import settings
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from . import health


@require_safe
def healthz(request):
    """Answer without touching the database: the framework's own limit."""
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def readyz(request, scope="site"):
    """Readiness, in JSON: 200 when the database, Redis, the worker and beat all answer (for /readyz/web: the database), 503 otherwise."""
    healthy, report = health.readiness(scope)
    response = JsonResponse(report, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    # A monitor polls this every few seconds: an outage is not mailed to ADMINS as a server error each time.
    response._has_been_logged = True
    return response


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
def request_too_large(request):
    """What nginx shows (error_page 413) when a body is larger than client_max_body_size: the same page as Django's own."""
    limit = settings.APPLICATION_UPLOAD_MAX_BYTES // (1024 * 1024)
    return render(request, "request_too_large.html", {"limit": limit}, status=413)


# The admin's pages of models that moved to another app or were renamed: where they are now.
MOVED_ADMIN_PAGES = {
    "presessions/email": "outbox/email",
    "presessions/emailtemplate": "outbox/emailtemplate",
    "applications/review": "applications/assessment",
    "applications/reviewerassignment": "applications/assessorassignment",
}


@require_safe
def moved_admin_page(request, old, rest):
    """Send an old admin address to the same page under the model's new name; the admin checks who may see it."""
    query = request.GET.urlencode()
    return HttpResponsePermanentRedirect(
        reverse("admin:index") + f"{MOVED_ADMIN_PAGES[old]}/{rest}" + (f"?{query}" if query else "")
    )
