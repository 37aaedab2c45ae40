"""What every app's views share: who counts as staff, private pages, and the database-outage signal."""

import functools

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from two_factor.utils import default_device


def private_page(view):
    """
    Mark a page reached through a private link (an application, a confirmation, an unsubscribe link).

    No cache, shared or in the browser, keeps it; search engines do not index it; and a link on it
    sends a Referer only to this site (whose logs mask it), so the private address never reaches
    another site. "no-referrer" would make browsers send "Origin: null" with the page's own forms,
    which Django's CSRF check rightly refuses.
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True, no_store=True)
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    return wrapped


def is_verified_staff(user) -> bool:
    """Active staff who signed in with their second factor in this session."""
    return bool(user.is_active and user.is_staff and user.is_verified())


def staff_login_redirect(request, next_url: str | None = None):
    """Where a staff page sends someone who may not see it yet: enrolment, or the two-step login."""
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff and default_device(user) is None:
        return redirect(reverse("two_factor:setup"))
    return redirect_to_login(next_url or request.get_full_path())


def staff_required(view):
    """Open a staff page (outside the admin) only to verified staff; send others to log in or enrol."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_verified_staff(request.user):
            return staff_login_redirect(request)
        return view(request, *args, **kwargs)

    return wrapped


class DatabaseUnavailable(Exception):
    """The database stayed unreachable after a retry: DatabaseUnavailableMiddleware shows a page that says so."""


def private_file(field_file, *, filename: str, as_attachment: bool = True):
    """
    Stream an uploaded file through the application (never a link to where it is stored), once the
    caller has checked who asks. A file missing from the disk or the bucket is a 404 and a log line
    for the operator, not a server error.
    """
    import logging

    from django.http import FileResponse, Http404

    if not field_file:
        raise Http404
    try:
        if not field_file.storage.exists(field_file.name):
            raise FileNotFoundError(field_file.name)
        handle = field_file.open("rb")
    except Exception as error:  # noqa: BLE001 -- the disk, or the object store's client, failed
        logging.getLogger(__name__).error("Uploaded file %s cannot be read: %s", field_file.name, type(error).__name__)
        raise Http404 from error
    response = FileResponse(handle, content_type="application/pdf", as_attachment=as_attachment, filename=filename)
    if as_attachment:  # a private file (a report, a statement not yet public): kept by no cache
        response["Cache-Control"] = "private, no-store"
    return response
