"""
The coordinator's CSV and XLSX export never hands a spreadsheet a formula.

An applicant chooses their organisation's name. A name such as
`=HYPERLINK("http://evil","x")` must reach the coordinator's spreadsheet as
text: a live formula can send the spreadsheet's data to another site, or run
a command through DDE.
"""

import csv
import io

import openpyxl
import pytest

from tests.factories import login_staff, make_application

pytestmark = pytest.mark.django_db

CSV_FORMAT, XLSX_FORMAT = "0", "1"  # their places in ApplicationAdmin.get_export_formats()
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

HYPERLINK = '=HYPERLINK("http://evil.example","x")'
# What a spreadsheet also runs: a doubled "=" (the library removes only the first one), and the other starts
# Excel and LibreOffice read as a formula in a CSV file.
BYPASSES = [
    '==HYPERLINK("http://evil.example","x")',
    '+HYPERLINK("http://evil.example","x")',
    '-2+3+HYPERLINK("http://evil.example","x")',
    '@SUM(1+1)*cmd|" /C calc"!A0',
    '\t=HYPERLINK("http://evil.example","x")',
]


def _export(client, coordinator, file_format: str) -> bytes:
    login_staff(client, coordinator)
    response = client.post(
        "/admin/applications/application/export/",
        {"format": file_format, "export_items": [], **{f"applicationresource_{f}": "on" for f in ["id", "organisation"]}},
    )
    assert response.status_code == 200, response.content[:500]
    return response.content


def _csv_organisations(content: bytes) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    return [row["organisation"] for row in rows]


def _xlsx_organisation_cells(content: bytes) -> list:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header = [cell.value for cell in sheet[1]]
    column = header.index("organisation")
    return [row[column] for row in sheet.iter_rows(min_row=2)]


def _assert_no_formula(client, cast, names):
    csv_cells = _csv_organisations(_export(client, cast.coordinator, CSV_FORMAT))
    assert len(csv_cells) == len(names)
    assert [cell for cell in csv_cells if cell.startswith(FORMULA_START)] == []

    xlsx_cells = _xlsx_organisation_cells(_export(client, cast.coordinator, XLSX_FORMAT))
    assert len(xlsx_cells) == len(names)
    assert [(cell.value, cell.data_type) for cell in xlsx_cells if cell.data_type == "f" or str(cell.value).startswith("=")] == []


def test_outbox_export_an_organisation_named_like_a_formula_is_exported_as_text(client, cast, kenya):
    make_application(kenya, name=HYPERLINK)
    _assert_no_formula(client, cast, [HYPERLINK])


def test_outbox_export_no_formula_start_survives_the_export(client, cast, kenya):
    for name in BYPASSES:
        make_application(kenya, name=name)
    _assert_no_formula(client, cast, BYPASSES)
