from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import views

admin.site.site_header = _("Pre-session Manager")
admin.site.site_title = _("Pre-session Manager")
admin.site.index_title = _("UPR Info staff")

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("language/<str:code>/", views.switch_language, name="switch_language"),
    path("admin/", admin.site.urls),
    path("", include("presessions.public_urls")),
    path("", include("applications.urls")),
    path("", include("panels.urls")),
]
