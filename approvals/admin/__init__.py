"""The managers' admin: the site with its dashboard and what-if pages, and every ModelAdmin.

The ModelAdmins are registered by `ApprovalsConfig.ready()`, not by this package's import:
Django imports this package to build `admin.site` itself, and a registration made while that
import is under way would land on a site that is then replaced.
"""
