"""Admin for the callback outbox (OutboxEvent, DeliveryAttempt): owned by the webhooks work.

Imported at the bottom of approvals/admin.py so its registrations happen with the others.
"""

from __future__ import annotations
