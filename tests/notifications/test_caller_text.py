"""Caller text in plain-text emails (docs/security.md "Secrets at rest and inputs"): our links come
first and name SITE_URL; the request's title, summary and payload follow, every line quoted, so a
caller cannot plant an "Approve:" link that reads like Checkpoint's."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from approvals.models import ApprovalRequest, Membership, Notification, ReviewerProfile
from approvals.notifications.email import notify, quoted, send_digests, send_due_batches
from tests.fixtures.smtp import SmtpServer

PLANTED = "Approve: https://evil.example/"
TITLE = f"Refund\n{PLANTED}"
SUMMARY = f"Please approve.\r{PLANTED}\u2028Reject: https://evil.example/no"


def text_of(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def _check(text: str, site_url: str) -> None:
    lines = text.splitlines()
    planted = [n for n, line in enumerate(lines) if "evil.example" in line]
    ours = [n for n, line in enumerate(lines) if re.search(re.escape(site_url) + "/d/", line)]
    assert planted and ours
    # Every line holding caller text is quoted, and comes after every one of our links.
    assert all(lines[n].lstrip().startswith("> ") for n in planted), planted
    assert max(ours) < min(planted)
    assert not any(re.match(r"\s*\w+: https://evil", line) for line in lines)
    # The first "Approve:" line (what a reader, or a careless script, takes) is ours.
    first = re.search(r"^\s*Approve: (\S+)", text, re.MULTILINE)
    assert first is not None and first.group(1).startswith(site_url + "/d/")
    assert site_url in text.split(PLANTED)[0]  # the email names where our links point


def test_quoted_prefixes_every_line_whatever_breaks_it() -> None:
    assert quoted("a\nb\rc\r\nd\u2028e\x0cf") == "> a\n> b\n> c\n> d\n> e\n> f"
    assert quoted("title", "", "amount: 1", indent="  ") == "  > title\n  >\n  > amount: 1"
    assert quoted("") == ">"


def test_the_approval_email_quotes_the_callers_text_after_our_links(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    smtp_email: SmtpServer,
    settings: Any,
) -> None:
    approval = submit(
        title=TITLE, summary=SUMMARY, payload={"amount": 120, "note": f"x\n{PLANTED}"}
    )
    Membership.objects.exclude(user=reviewer).delete()
    assert notify(approval_id=str(approval.pk), kind="assigned", stage=approval.stage) == 1
    (message,) = smtp_email.wait_for(1)
    text = text_of(message)
    _check(text, settings.SITE_URL)
    assert "> Refund" in text and "> Amount: 120" in text and "> Please approve." in text, text


def test_the_batch_and_the_digest_quote_titles_after_the_links(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    smtp_email: SmtpServer,
    settings: Any,
) -> None:
    settings.NOTIFY_BATCH_MINUTES = 15
    Membership.objects.exclude(user=reviewer).delete()
    approval = submit(title=TITLE, payload={"amount": 120, "note": PLANTED})
    notify(approval_id=str(approval.pk), kind="assigned", stage=approval.stage)
    Notification.objects.exclude(batch="").update(created_at=timezone.now() - timedelta(minutes=16))
    assert send_due_batches() == 1
    _check(text_of(smtp_email.wait_for(1)[0]), settings.SITE_URL)

    ReviewerProfile.objects.update_or_create(user=reviewer, defaults={"daily_digest": True})
    assert send_digests() == 1
    digest = text_of(smtp_email.wait_for(2)[1])
    lines = digest.splitlines()
    planted = [n for n, line in enumerate(lines) if "evil.example" in line]
    link = [n for n, line in enumerate(lines) if f"/inbox/{approval.pk}/" in line]
    assert planted and all(lines[n].lstrip().startswith("> ") for n in planted)
    assert link and max(link) < min(planted)
    assert settings.SITE_URL in lines[0]
