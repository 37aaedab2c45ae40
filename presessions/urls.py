from django.urls import path

from . import crawlers, privacy_views, views

app_name = "presessions"

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("countries/<str:iso2>/", views.country, name="country"),
    path("sessions/<int:number>/", views.session, name="session"),
    path("faq/", views.faq, name="faq"),
    path("about/", views.about, name="about"),
    path("accessibility/", crawlers.accessibility, name="accessibility"),
    path("privacy/", privacy_views.privacy, name="privacy"),
    path("privacy/version-<int:version>/", privacy_views.privacy_version, name="privacy_version"),
]
