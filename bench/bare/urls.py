"""One view, at every path: a fixed HTML page of about 2 KB, as a small public page of the site would be."""

from django.http import HttpResponse
from django.urls import re_path

ROWS = "".join(f"<tr><td>Meeting {n}</td><td>09:{n:02d}</td><td>Room XVII</td></tr>\n" for n in range(30))
PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Bare Django view</title></head>\n'
    f"<body><h1>The framework's limit</h1>\n<table>\n{ROWS}</table></body></html>\n"
).encode()


def page(request):
    response = HttpResponse(PAGE, content_type="text/html; charset=utf-8")
    response["Content-Length"] = len(PAGE)  # as the project's CommonMiddleware sets it (else gunicorn chunks the body)
    return response


urlpatterns = [re_path(r"", page)]
