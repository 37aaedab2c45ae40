import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# A web process wakes the outbox relay through Celery inside requests: if Redis hangs (rather than refusing), give
# up after a second and leave the email to the sweep, instead of holding the applicant (and a
# worker) for the socket's default of minutes. Workers keep Celery's own timeouts for their
# blocking reads. See outbox.delivery.wake_relay.
from config.celery import app as _celery  # noqa: E402 -- configured once Django is set up

_celery.conf.broker_transport_options = {
    **_celery.conf.broker_transport_options,
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
}
_celery.conf.task_publish_retry_policy = {"max_retries": 0}
