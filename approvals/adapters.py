from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest
from django.urls import reverse

from approvals.crypto import decrypt_text, encrypt_text


class AccountAdapter(DefaultAccountAdapter):
    """Reviewers are added by managers (`add_reviewer`, the admin); nobody signs up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Managers (staff) land on the admin dashboard; reviewers in their inbox.

        A `?next=` the reviewer followed still wins (allauth checks it before asking here).
        """
        user = getattr(request, "user", None)
        if user is not None and user.is_staff:
            return reverse("admin:approvals_dashboard")
        return super().get_login_redirect_url(request)


class MFAAdapter(DefaultMFAAdapter):
    """allauth's hooks for its stored secrets (the TOTP key, the recovery-code seed): Fernet
    with FIELD_ENCRYPTION_KEYS, like every other secret at rest (approvals/crypto.py)."""

    def encrypt(self, text: str) -> str:
        return encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_text(encrypted_text)
