"""Whatever is posted to the application form, the answer is never a server error."""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import application_post
from tests.profiles import examples

pytestmark = pytest.mark.django_db

KEYS = [
    "action",
    "app-review",
    "org-name",
    "org-acronym",
    "org-kind",
    "org-cso_form",
    "org-nhri_status",
    "org-country",
    "org-scope",
    "org-is_coalition",
    "org-member_count",
    "org-website",
    "org-email",
    "org-established_year",
    "org-ecosoc_status",
    "org-aim",
    "app-report_submitted",
    "app-report_reference",
    "app-earlier_engagement",
    "app-themes",
    "app-statement_summary",
    "app-speaker_name",
    "app-speaker_gender",
    "app-speaker_role",
    "app-speaker_email",
    "app-speaker_phone",
    "app-working_language",
    "app-accessibility_needs",
    "app-attendance",
    "app-consent_data",
    "app-publication",
    "app-form_token",
    "app-contact_time",
]
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300)
value = st.one_of(text, st.integers().map(str), st.sampled_from(["", "on", "draft", "submit", "cso", "nhri", "KE", "woman"]))
posts = st.dictionaries(st.sampled_from(KEYS) | text, st.one_of(value, st.lists(value, max_size=5)), max_size=len(KEYS) + 3)


@hypothesis_settings(
    max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=posts, base=st.booleans())
def test_arbitrary_posts_never_cause_a_server_error(client, kenya, settings, data, base):
    settings.APPLICATION_RATELIMIT = "1000000/m"
    payload = {**application_post(kenya), **data} if base else data
    response = client.post("/sessions/60/apply/", payload)
    assert response.status_code in (200, 302)
