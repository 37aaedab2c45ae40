"""
The migrations of issue 15 keep every row: the outbox's models move app (their tables stay), and a
reviewer's "Review" becomes an assessor's "Assessment" (tables, permissions and the group renamed).
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("applications", "0008_organisation_identity"), ("presessions", "0009_theme_translations"), ("outbox", None)]


def _apps_at(targets):
    executor = MigrationExecutor(connection)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_before_the_renames(transactional_db):
    call_command("migrate", "outbox", "zero", verbosity=0)
    call_command("migrate", "applications", "0008_organisation_identity", verbosity=0)
    yield
    call_command("migrate", verbosity=0)  # whatever happened, leave the schema as the other tests expect it


def test_renames_keep_every_row(back_before_the_renames):
    old = _apps_at([t for t in BEFORE if t[1]])
    User = old.get_model("auth", "User")
    Group = old.get_model("auth", "Group")
    Email = old.get_model("presessions", "Email")
    EmailTemplate = old.get_model("presessions", "EmailTemplate")
    Review = old.get_model("applications", "Review")
    Assignment = old.get_model("applications", "ReviewerAssignment")
    Application = old.get_model("applications", "Application")
    Organisation = old.get_model("applications", "Organisation")
    Session = old.get_model("presessions", "Session")
    StateReview = old.get_model("presessions", "StateReview")
    Cycle = old.get_model("presessions", "Cycle")

    Permission = old.get_model("auth", "Permission")
    ana = User.objects.create(username="ana", is_staff=True)
    # The groups as their data migration made them (a flush between tests may have emptied them).
    reviewer = Group.objects.get_or_create(name="Reviewer")[0]
    reviewer.user_set.add(ana)
    reviewer.permissions.add(*Permission.objects.filter(content_type__app_label="applications", codename__endswith="_review"))
    coordinator = Group.objects.get_or_create(name="Coordinator")[0]
    coordinator.permissions.add(*Permission.objects.filter(content_type__app_label="presessions", codename__endswith="_email"))
    session = Session.objects.create(number=99, cycle=Cycle.objects.get_or_create(number=4)[0])
    kenya = StateReview.objects.create(session=session, country="KE", order=1)
    organisation = Organisation.objects.create(name="Haki", country="KE", email="a@haki.example")
    application = Application.objects.create(review=kenya, organisation=organisation, email="a@haki.example")
    Review.objects.create(application=application, reviewer=ana, marks={"quality": 4}, total="8.00")
    Assignment.objects.create(reviewer=ana, review=kenya)
    Email.objects.create(to="a@haki.example", kind="application-received", subject="s", body_text="b", dedupe_key="k1")
    secret = "531NuD6Bue-ogC9_RNYgX2FYKFk8yIYf"  # an application's link key, as old keys held it
    Email.objects.create(to="a@haki.example", kind="new-link", subject="s", body_text="b", dedupe_key=f"new-link:1:{secret}")
    EmailTemplate.objects.create(name="decision-selected", language="fr", subject="S", body="B")

    call_command("migrate", verbosity=0)

    from django.contrib.auth.models import Group as NewGroup
    from django.contrib.contenttypes.models import ContentType

    from applications.models import Assessment, AssessorAssignment
    from outbox.links import fingerprint
    from outbox.models import Email as NewEmail
    from outbox.models import EmailTemplate as NewTemplate

    assessment = Assessment.objects.get()
    assert (assessment.assessor.username, assessment.marks, str(assessment.total)) == ("ana", {"quality": 4}, "8.00")
    assert AssessorAssignment.objects.get().assessor.username == "ana"
    assert sorted(NewEmail.objects.values_list("dedupe_key", flat=True)) == ["k1", f"new-link:1:{fingerprint(secret)}"]
    assert NewTemplate.objects.get().name == "decision-selected"
    group = NewGroup.objects.get(name="Assessor")
    assert not NewGroup.objects.filter(name="Reviewer").exists()
    assert list(group.user_set.values_list("username", flat=True)) == ["ana"]
    assert {"add_assessment", "change_assessment", "view_assessment"} <= set(group.permissions.values_list("codename", flat=True))
    # One content type per model, even after migrating backwards and forwards (Django recreates them after each migrate).
    moved = sorted(ContentType.objects.filter(model__in=["email", "emailtemplate"]).values_list("app_label", "model"))
    assert moved == [("outbox", "email"), ("outbox", "emailtemplate")]
    coordinator = NewGroup.objects.get(name="Coordinator")
    assert coordinator.permissions.filter(content_type__app_label="outbox", codename="change_email").exists()
