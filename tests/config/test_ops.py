import logging

import pytest
from django_celery_beat.models import PeriodicTask

from outbox.masking import MaskPrivateLinks, mask_private_links


@pytest.mark.django_db
def test_periodic_tasks_are_installed_for_the_admin():
    assert sorted(PeriodicTask.objects.values_list("task", flat=True)) == [
        "applications.purge_personal_data",
        "applications.remind_reviewers",
        "applications.send_call_alerts",
        "applications.send_deadline_reminders",
        "config.heartbeat",
        "panels.expire_unconfirmed",
        "panels.remind_guest_lists",
        "panels.send_statement_reminders",
        "presessions.sweep_outbox",
    ]


def test_private_links_are_masked_in_logs():
    line = '"GET /applications/AbCdEfGhIjKlMnOpQrStUvWxYz012345:sIgNaTuReSiGnAtUrE_-123/edit/ HTTP/1.1" 200'
    assert mask_private_links(line) == '"GET /applications/AbCdEf…/edit/ HTTP/1.1" 200'
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, "%s", (line,), None)
    MaskPrivateLinks().filter(record)
    assert "sIgNaTuRe" not in record.getMessage()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/presessions/email/12/change/?x=1", "/admin/outbox/email/12/change/?x=1"),
        ("/admin/presessions/emailtemplate/", "/admin/outbox/emailtemplate/"),
        ("/admin/applications/review/3/history/", "/admin/applications/assessment/3/history/"),
        ("/admin/applications/reviewerassignment/", "/admin/applications/assessorassignment/"),
    ],
)
def test_old_admin_addresses_lead_to_the_moved_pages(client, old, new):
    """Bookmarks and the links in ADMINS' emails from before the outbox and the assessments were renamed."""
    response = client.get(old)
    assert (response.status_code, response["Location"]) == (301, new)
    assert client.post(old).status_code == 405
