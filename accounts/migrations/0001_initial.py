import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # After every migration of auth_user: on SQLite, altering a column rebuilds the table and
        # would silently drop the index made below.
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="AgentToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("label", models.CharField(max_length=100)),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                ("prefix", models.CharField(max_length=10)),
                ("scopes", models.CharField(help_text="space-separated", max_length=200)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="agent_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at"]},
        ),
        # User names appear in URLs and are looked up case-insensitively; two accounts differing
        # only in case would make `/Alice` ambiguous, so the database refuses them. (Django's
        # User cannot carry this constraint in its own Meta; LOWER() works on SQLite and Postgres.)
        migrations.RunSQL(
            sql="CREATE UNIQUE INDEX accounts_user_username_lower ON auth_user (LOWER(username))",
            reverse_sql="DROP INDEX accounts_user_username_lower",
        ),
    ]
