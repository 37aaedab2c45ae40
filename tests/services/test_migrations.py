import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db


def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_every_migration_is_applied_on_the_configured_database():
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


@pytest.mark.services
def test_the_suite_runs_on_postgresql_when_asked():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql", "pgsql")):
        from tests.conftest import service_unavailable

        service_unavailable("DATABASE_URL does not point to PostgreSQL")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM presessions_session")
        assert cursor.fetchone() == (0,)
