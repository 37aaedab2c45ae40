from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def add_demo_applications(sender, session, seed, stdout=None, **kwargs):
    from .demo import generate_applications

    created = generate_applications(session, seed=seed)
    if stdout is not None:
        stdout.write(f"Demo applications created: {created}")


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self):
        from presessions.demo import demo_loaded

        demo_loaded.connect(add_demo_applications, dispatch_uid="applications.demo")
