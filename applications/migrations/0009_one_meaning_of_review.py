"""
"Review" means one thing: a State's UPR review (StateReview, Application.review). A staff member's
marks for an application are now an Assessment, made by an assessor (the group Reviewer becomes
Assessor), and a reviewer assignment an AssessorAssignment.

Tables, columns, permissions and the group are renamed in place: every row is kept, and so are
the group's members and permissions.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

RENAMED_MODELS = {"review": "assessment", "historicalreview": "historicalassessment", "reviewerassignment": "assessorassignment"}
RENAMED_GROUPS = {"Reviewer": "Assessor"}


def _rename(apps, models_map: dict, groups_map: dict, words: dict) -> None:
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for old, new in models_map.items():
        for permission in Permission.objects.filter(content_type__app_label="applications", codename__endswith=f"_{old}"):
            action = permission.codename.rsplit("_", 1)[0]
            if Permission.objects.filter(content_type=permission.content_type, codename=f"{action}_{new}").exists():
                continue
            permission.codename = f"{action}_{new}"
            name = permission.name
            for a, b in words.items():
                name = name.replace(a, b)
            permission.name = name
            permission.save(update_fields=["codename", "name"])
    for old, new in groups_map.items():
        if not Group.objects.filter(name=new).exists():
            Group.objects.filter(name=old).update(name=new)


def forwards(apps, schema_editor):
    _rename(
        apps,
        RENAMED_MODELS,
        RENAMED_GROUPS,
        {"historical review": "historical assessment", "reviewer assignment": "assessor assignment", "review": "assessment"},
    )


def backwards(apps, schema_editor):
    _rename(
        apps,
        {new: old for old, new in RENAMED_MODELS.items()},
        {new: old for old, new in RENAMED_GROUPS.items()},
        {"historical assessment": "historical review", "assessor assignment": "reviewer assignment", "assessment": "review"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0008_organisation_identity"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="review", name="one_review_per_reviewer"),
        migrations.RemoveConstraint(model_name="reviewerassignment", name="unique_assignment"),
        migrations.RenameModel("Review", "Assessment"),
        migrations.RenameModel("HistoricalReview", "HistoricalAssessment"),
        migrations.RenameModel("ReviewerAssignment", "AssessorAssignment"),
        migrations.RenameField("assessment", "reviewer", "assessor"),
        migrations.RenameField("historicalassessment", "reviewer", "assessor"),
        migrations.RenameField("assessorassignment", "reviewer", "assessor"),
        migrations.AlterField(
            model_name="assessment",
            name="application",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="assessments",
                to="applications.application",
                verbose_name="application",
            ),
        ),
        migrations.AlterField(
            model_name="assessment",
            name="assessor",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assessments",
                to=settings.AUTH_USER_MODEL,
                verbose_name="assessor",
            ),
        ),
        migrations.AlterField(
            model_name="historicalassessment",
            name="assessor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="assessor",
            ),
        ),
        migrations.AlterField(
            model_name="assessorassignment",
            name="assessor",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="assignments",
                to=settings.AUTH_USER_MODEL,
                verbose_name="assessor",
            ),
        ),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.UniqueConstraint(fields=("application", "assessor"), name="one_assessment_per_assessor"),
        ),
        migrations.AddConstraint(
            model_name="assessorassignment",
            constraint=models.UniqueConstraint(fields=("assessor", "review"), name="unique_assignment"),
        ),
        migrations.AlterModelOptions(
            name="assessment",
            options={"ordering": ["-updated_at"], "verbose_name": "assessment", "verbose_name_plural": "assessments"},
        ),
        migrations.AlterModelOptions(
            name="assessorassignment",
            options={"verbose_name": "assessor assignment", "verbose_name_plural": "assessor assignments"},
        ),
        migrations.AlterModelOptions(
            name="historicalassessment",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical assessment",
                "verbose_name_plural": "historical assessments",
            },
        ),
        migrations.AlterField(
            model_name="application",
            name="score_count",
            field=models.PositiveSmallIntegerField(default=0, editable=False, verbose_name="assessments"),
        ),
        migrations.AlterField(
            model_name="assessment",
            name="conflict_of_interest",
            field=models.BooleanField(
                default=False, help_text="The assessor is excluded from this application.", verbose_name="conflict of interest"
            ),
        ),
        migrations.AlterField(
            model_name="historicalapplication",
            name="score_count",
            field=models.PositiveSmallIntegerField(default=0, editable=False, verbose_name="assessments"),
        ),
        migrations.AlterField(
            model_name="historicalassessment",
            name="conflict_of_interest",
            field=models.BooleanField(
                default=False, help_text="The assessor is excluded from this application.", verbose_name="conflict of interest"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
