"""Django's admin app with the staff site (config.admin_site.StaffAdminSite); kept apart because INSTALLED_APPS loads it before any model."""

from django.contrib.admin import apps as admin_apps


class StaffAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "config.admin_site.StaffAdminSite"

    def ready(self):
        super().ready()
        from . import checks  # noqa: F401 -- registers the deployment checks
