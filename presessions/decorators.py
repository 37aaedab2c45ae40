"""View decorators shared by the apps."""

import functools

from django.utils.cache import add_never_cache_headers, patch_cache_control


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
