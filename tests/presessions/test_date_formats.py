import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

DAY = dt.datetime(2026, 12, 14, 17, 5)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["14 December 2026", "14 December 2026, 17:05", "December 2026", "14 December", "Monday 14 December 2026"]),
        ("fr", ["14 décembre 2026", "14 décembre 2026 à 17:05", "décembre 2026", "14 décembre", "lundi 14 décembre 2026"]),
        (
            "es",
            [
                "14 de diciembre de 2026",
                "14 de diciembre de 2026 a las 17:05",
                "diciembre de 2026",
                "14 de diciembre",
                "lunes, 14 de diciembre de 2026",
            ],
        ),
    ],
)
def test_templates_write_dates_as_each_language_does(language, expected):
    template = Template(
        '{{ d|date:"DATE_FORMAT" }}|{{ d|date:"DATETIME_FORMAT" }}|{{ d|date:"YEAR_MONTH_FORMAT" }}'
        '|{{ d|date:"MONTH_DAY_FORMAT" }}|{{ d|date:"DAY_DATE_FORMAT" }}'
    )
    with translation.override(language):
        assert template.render(Context({"d": DAY})).split("|") == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", ["3 Jun 2027", "Thu 3 Jun"]), ("fr", ["3 juin 2027", "jeu 3 juin"]), ("es", ["3 jun. 2027", "jue 3 jun."])],
)
def test_short_dates_keep_june_and_july_apart(language, expected):
    template = Template('{{ d|date:"ABBR_DATE_FORMAT" }}|{{ d|date:"ABBR_DAY_MONTH_FORMAT" }}')
    with translation.override(language):
        assert template.render(Context({"d": dt.date(2027, 6, 3)})).split("|") == expected
