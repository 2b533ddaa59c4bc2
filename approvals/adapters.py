from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Reviewers are added by managers (`add_reviewer`, the admin); nobody signs up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
