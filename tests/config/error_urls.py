"""A page that fails, for the error-report tests: it holds an applicant's data and a private link when it does."""

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

PRIVATE_LINK = "/applications/Zq3xYpL0rKd8vW2mNsTb:Ab9cDe8fGh7iJk6lMn5oPq4r/"


@csrf_exempt
def broken(request):
    applicant = request.POST.get("speaker_name", "")  # noqa: F841 -- a local an error report must not show
    raise RuntimeError(f"could not render {PRIVATE_LINK} for this applicant")


@csrf_exempt
def broken_elsewhere(request):
    raise RuntimeError("another failure, in another place")


urlpatterns = [
    path("elsewhere/", broken_elsewhere),
    path("broken/", broken),
    path("applications/<str:token>/broken/", lambda request, token: broken(request)),
    path("", include("config.urls")),
]
