from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWER = [
    ("applications", "view_application"),
    ("applications", "view_organisation"),
    ("applications", "add_review"),
    ("applications", "change_review"),
    ("applications", "view_review"),
]
COORDINATOR_APPS = ["applications", "presessions", "panels"]
COORDINATOR_EXTRA = [("django_celery_beat", "view_periodictask"), ("django_celery_beat", "change_periodictask")]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so the groups can use them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    reviewer, _ = Group.objects.get_or_create(name="Reviewer")
    reviewer.permissions.add(
        *[Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in REVIEWER]
    )
    coordinator, _ = Group.objects.get_or_create(name="Coordinator")
    coordinator.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=COORDINATOR_APPS),
        *Permission.objects.filter(content_type__app_label__in=[a for a, _c in COORDINATOR_EXTRA], codename__in=[c for _a, c in COORDINATOR_EXTRA]),
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Reviewer", "Coordinator"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0003_review_and_scoring"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("presessions", "0003_outbox_label"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
