from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers every ModelAdmin on the default site (see approvals/admin/__init__.py), and
        # the deploy checks (docs/security.md "Deploy checks").
        from approvals import checks  # noqa: F401
        from approvals.admin import deeplinks, delivery, inbound, policies, standing  # noqa: F401

        # Stamps a session's last-seen time at sign-in (the idle timeout's starting point).
        from approvals.security import middleware  # noqa: F401


class CheckpointAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Checkpoint's site as `admin.site`."""

    default = False
    default_site = "approvals.admin.site.CheckpointAdminSite"
