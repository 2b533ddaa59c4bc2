"""Re-authentication before policy edits (docs/security.md "Sign-in, MFA and sessions").

A policy edit changes what gets approved automatically, so a session whose last sign-in (or
re-authentication) is older than ACCOUNT_REAUTHENTICATION_TIMEOUT is asked for the password
or the second factor again before the edit is saved. allauth's `reauthentication_required`
does the asking: it keeps the POST, sends the person to allauth's re-authentication page and
replays the POST afterwards. A session that never signed in through allauth (no
authentication record) counts as stale.
"""

from __future__ import annotations

import time

from allauth.account.authentication import get_authentication_records
from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.http import HttpRequest


def sign_in_is_stale(request: HttpRequest) -> bool:
    records = get_authentication_records(request, request.user)  # type: ignore[arg-type]
    if not records:
        return True
    return time.time() - float(records[-1]["at"]) >= settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


# GET shows the form; only the POST that saves asks.
reauthenticate_if_stale = reauthentication_required(enabled=sign_in_is_stale, allow_get=True)
