"""Create the `Managers` auth group with what managers need in the admin.

Permissions are normally created after `migrate` finishes (post_migrate), which is too late for
a fresh database; create them for this app here so the group gets them on the first migrate.
"""

from __future__ import annotations

from django.db import migrations

MANAGER_PERMISSIONS = {
    "view_policy", "add_policy", "change_policy",
    "view_policyrule", "add_policyrule", "change_policyrule", "delete_policyrule",
    "view_policystage", "add_policystage", "change_policystage", "delete_policystage",
    "view_decisionoption", "add_decisionoption", "change_decisionoption", "delete_decisionoption",
    "view_reviewergroup", "add_reviewergroup", "change_reviewergroup",
    "view_membership", "add_membership", "change_membership", "delete_membership",
    "view_reviewerprofile", "add_reviewerprofile", "change_reviewerprofile",
    "view_approvalrequest",
    "view_decision",
    "view_auditentry",
    "view_outboxevent",
    "view_deliveryattempt",
    "export_audit",
}


def create_managers_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("approvals")
    # create_permissions skips apps whose models_module is None (the migration state's configs).
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Managers")
    permissions = Permission.objects.filter(
        content_type__app_label="approvals", codename__in=MANAGER_PERMISSIONS
    )
    group.permissions.add(*permissions)


def remove_managers_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Managers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_managers_group, remove_managers_group)]
