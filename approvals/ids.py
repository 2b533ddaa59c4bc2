"""Opaque, time-ordered identifiers.

Python 3.11 has no uuid7; ours puts the millisecond clock in the high bits (RFC 9562 layout) so
primary keys of new rows land at the end of their B-tree index instead of all over it.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from django.db import connection


def uuid7() -> uuid.UUID:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0x0FFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF  # rand_b, 62 bits
    return uuid.UUID(int=value)


def uuid_param(value: Any) -> Any:
    """A UUID (or its text) as a parameter of plain SQL: a UUID on PostgreSQL, its hex text on
    SQLite (how Django stores a UUIDField there). Text that is no UUID raises ValueError."""
    if value is None:
        return None
    value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return value if connection.vendor == "postgresql" else value.hex
