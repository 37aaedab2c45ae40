"""An uploaded file missing from its storage is a 404 and a line for the operator, never a server error."""

import logging

import pytest
from django.core.files.base import ContentFile
from django.http import Http404

from presessions.web import private_file
from tests.factories import make_application

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.django_db
def test_a_missing_file_is_a_404_with_a_log_line(open_session, admin_client, caplog):
    application = make_application(open_session.reviews.first())
    application.report_file.save("r.pdf", ContentFile(PDF))
    url = f"/staff/applications/{application.pk}/report.pdf"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    application.report_file.storage.delete(application.report_file.name)
    caplog.set_level(logging.ERROR, logger="presessions.web")
    assert admin_client.get(url).status_code == 404
    assert any("cannot be read" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_no_file_at_all_is_a_404(open_session):
    application = make_application(open_session.reviews.first())
    with pytest.raises(Http404):
        private_file(application.report_file, filename="x.pdf")
