from django.db import migrations, models


def existing_accounts_get_roles(apps, schema_editor):
    """Accounts made before roles existed: superusers become admins, every other account a
    viewer (read only) until an admin gives it more, so nobody gains a right by the upgrade.
    The groups' permissions are set after migrate (dedupe_project.access.sync_role_groups)."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    groups = {
        name: Group.objects.get_or_create(name=name)[0] for name in ("admin", "reviewer", "viewer")
    }
    for user in User.objects.all():
        if user.groups.filter(name__in=list(groups)).exists():
            continue
        role = "admin" if user.is_superuser else "viewer"
        user.groups.add(groups[role])


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("dedupe_project", "0004_ai_review_settings"),
    ]

    operations = [
        migrations.CreateModel(
            name="Access",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "permissions": [
                    ("view_library", "Read documents, groups, plans, jobs and the audit log"),
                    ("review_groups", "Decide duplicate groups"),
                    ("make_plans", "Make plans"),
                    ("confirm_plans", "Confirm plans"),
                    ("undo_dry_runs", "Undo dry runs"),
                    ("run_jobs", "Start, resume, cancel and interrupt jobs"),
                    ("change_settings", "Change the settings"),
                    ("manage_connection", "Set and test the Paperless connection"),
                    ("manage_api_tokens", "Issue and revoke API tokens"),
                    ("manage_users", "Manage accounts and roles"),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(existing_accounts_get_roles, migrations.RunPython.noop),
    ]
