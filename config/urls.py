from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.db.models import Max
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from two_factor import views as two_factor_views

from presessions import crawlers
from presessions.models import Session

from . import views

admin.site.site_header = _("Pre-session Manager")
admin.site.site_title = _("Pre-session Manager")
admin.site.index_title = _("UPR Info staff")

# The two-step staff login and enrolment of a second factor (django-two-factor-auth). Its "disable"
# page is left out on purpose: every staff account must keep a second factor.
staff_account_urls = [
    path("login/", two_factor_views.LoginView.as_view(), name="login"),
    path("two_factor/setup/", two_factor_views.SetupView.as_view(), name="setup"),
    path("two_factor/qrcode/", two_factor_views.QRGeneratorView.as_view(), name="qr"),
    path("two_factor/setup/complete/", two_factor_views.SetupCompleteView.as_view(), name="setup_complete"),
    path("two_factor/backup/tokens/", two_factor_views.BackupTokensView.as_view(), name="backup_tokens"),
    path("two_factor/", two_factor_views.ProfileView.as_view(), name="profile"),
]

# The sitemap's sections. A session's public schedule is listed once a version is published; it is
# wired here, above the apps, since presessions does not know panels.
sitemaps = {
    "pages": crawlers.PageSitemap(),
    "sessions": crawlers.SessionPageSitemap("presessions:session"),
    "countries": crawlers.CountrySitemap(),
    "schedules": crawlers.SessionPageSitemap(
        "panels:schedule",
        Session.objects.filter(schedule_releases__isnull=False).annotate(lastmod=Max("schedule_releases__published_at")),
    ),
}

urlpatterns = [
    path("robots.txt", crawlers.robots_txt, name="robots_txt"),
    path("sitemap.xml", require_safe(sitemap), {"sitemaps": sitemaps}, name="sitemap"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("readyz/web", views.readyz, {"scope": "web"}, name="readyz_web"),
    path("language/", views.switch_language, name="switch_language"),
    # Admin pages whose models moved or were renamed in 2026 (staff bookmarks, links in ADMINS' emails).
    re_path(
        rf"^admin/(?P<old>{'|'.join(views.MOVED_ADMIN_PAGES)})/(?P<rest>.*)$", views.moved_admin_page, name="moved_admin_page"
    ),
    path("admin/", admin.site.urls),
    path("account/", include((staff_account_urls, "two_factor"))),
    path("", include("presessions.urls")),
    path("request-too-large/", views.request_too_large, name="request_too_large"),
    path("", include("applications.urls")),
    path("", include("panels.urls")),
]
