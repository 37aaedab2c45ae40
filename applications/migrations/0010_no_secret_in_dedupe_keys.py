"""
Outbox dedupe keys hold no secret. Before, "new-link" and "email-change-confirm" emails were keyed
by the application's private key itself, which staff can read and search in the outbox: this keeps
only a fingerprint of it (outbox.links.fingerprint), as new emails do.
"""

import hashlib

from django.db import migrations

KINDS = ("new-link", "email-change-confirm")


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def forwards(apps, schema_editor):
    Email = apps.get_model("outbox", "Email")
    for kind in KINDS:
        for email in Email.objects.filter(dedupe_key__startswith=f"{kind}:").only("pk", "dedupe_key").iterator():
            prefix, _sep, secret = email.dedupe_key.rpartition(":")
            if prefix.count(":") != 1 or len(secret) == 12 and all(c in "0123456789abcdef" for c in secret):
                continue  # not a "<kind>:<pk>:<key>" key, or already a fingerprint
            Email.objects.filter(pk=email.pk).update(dedupe_key=f"{prefix}:{_fingerprint(secret)}")


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0009_one_meaning_of_review"),
        ("outbox", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
