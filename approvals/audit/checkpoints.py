"""Signed checkpoints of the audit chain, kept outside the database (docs/security.md "The audit
trail").

A checkpoint is the sealed head — its sequence number and hash — with the time, the signing
key's id and an HMAC-SHA256 signature under `AUDIT_SIGNING_KEY`, a key that is not in the
database. Beat exports one every `CHECKPOINT_INTERVAL_SECONDS` (and `manage.py audit_checkpoint`
on demand) to `AUDIT_CHECKPOINT_URL`. Whoever rewrites the chain inside the database, even with
every hash recomputed, cannot make it reach a checkpoint signed before the rewrite:
`verify_audit --checkpoints DIR` compares each checkpoint with the entry at its sequence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings

from approvals.audit.chain import canonical_json
from approvals.audit.sealing import seal_pending, sealed_head
from approvals.models import AuditEntry

ALGORITHM = "HMAC-SHA256"
VERSION = 1
FILE_PREFIX = "checkpoint-"
_FIELDS = ("version", "seq", "head", "at", "key_id", "alg", "signature")


class CheckpointError(Exception):
    """A checkpoint cannot be made, read or trusted; the message is one line for the operator."""


@dataclass(frozen=True)
class Checkpoint:
    version: int
    seq: int
    head: str
    at: str
    key_id: str
    alg: str
    signature: str

    def signed_material(self) -> bytes:
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return canonical_json(fields).encode("utf-8")

    @property
    def filename(self) -> str:
        return f"{FILE_PREFIX}{self.seq:012d}.json"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def _sign(material: bytes, secret: bytes) -> str:
    return hmac.new(secret, material, hashlib.sha256).hexdigest()


def sign_head(seq: int, head: str, *, at: datetime | None = None) -> Checkpoint:
    """A checkpoint of (seq, head) signed with the current AUDIT_SIGNING_KEY."""
    key_id = settings.AUDIT_SIGNING_KEY_ID
    if not key_id:
        raise CheckpointError("AUDIT_SIGNING_KEY is not set: checkpoints cannot be signed")
    moment = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    unsigned = Checkpoint(
        version=VERSION,
        seq=seq,
        head=head,
        at=moment.isoformat().replace("+00:00", "Z"),
        key_id=key_id,
        alg=ALGORITHM,
        signature="",
    )
    signature = _sign(unsigned.signed_material(), settings.AUDIT_VERIFY_KEYS[key_id])
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


def verify_signature(checkpoint: Checkpoint) -> None:
    """Raise CheckpointError unless the signature is valid under a key verification accepts."""
    if checkpoint.alg != ALGORITHM or checkpoint.version != VERSION:
        raise CheckpointError(
            f"checkpoint #{checkpoint.seq} uses {checkpoint.alg} v{checkpoint.version}, "
            f"not {ALGORITHM} v{VERSION}"
        )
    secret = settings.AUDIT_VERIFY_KEYS.get(checkpoint.key_id)
    if secret is None:
        raise CheckpointError(
            f"checkpoint #{checkpoint.seq} is signed with key {checkpoint.key_id!r}, which is "
            "neither AUDIT_SIGNING_KEY nor in AUDIT_VERIFY_KEYS"
        )
    expected = _sign(checkpoint.signed_material(), secret)
    if not hmac.compare_digest(expected, checkpoint.signature):
        raise CheckpointError(
            f"checkpoint #{checkpoint.seq} has an invalid signature (key {checkpoint.key_id!r})"
        )


def parse_checkpoint(text: str, *, source: str) -> Checkpoint:
    """A Checkpoint from its JSON file, checked for shape (not yet for its signature)."""
    try:
        raw: Any = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"{source} is not a checkpoint: {exc}") from None
    if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
        raise CheckpointError(f"{source} is not a checkpoint: expected the fields {_FIELDS}")
    ints = ("version", "seq")
    if any(type(raw[k]) is not int or raw[k] < 0 for k in ints) or any(
        not isinstance(raw[k], str) for k in _FIELDS if k not in ints
    ):
        raise CheckpointError(f"{source} is not a checkpoint: a field has the wrong type")
    return Checkpoint(**raw)


# --- where checkpoints are kept -------------------------------------------------------------


def directory_from_url(url: str) -> Path:
    """The directory of a file:///… AUDIT_CHECKPOINT_URL (the only store built in)."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise CheckpointError(f"AUDIT_CHECKPOINT_URL={url!r} is not a file:/// URL")
    return Path(unquote(parts.path))


def _write_new(directory: Path, checkpoint: Checkpoint) -> Path:
    """Write the file whole (a temporary file, then a hard link) and never over another one."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / checkpoint.filename
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(checkpoint.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, target)  # FileExistsError when this sequence already has a checkpoint
    finally:
        os.unlink(tmp)
    return target


def read_checkpoints(directory: Path) -> list[Checkpoint]:
    """Every checkpoint file in `directory`, signatures verified, in sequence order."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a directory of checkpoints")
    checkpoints = []
    for path in sorted(directory.glob(f"{FILE_PREFIX}*.json")):
        checkpoint = parse_checkpoint(path.read_text(encoding="utf-8"), source=path.name)
        verify_signature(checkpoint)
        checkpoints.append(checkpoint)
    if not checkpoints:
        raise CheckpointError(f"no signed checkpoints in {directory}")
    return sorted(checkpoints, key=lambda c: c.seq)


@dataclass(frozen=True)
class Exported:
    checkpoint: Checkpoint
    path: Path
    new: bool  # False: this sequence already had its checkpoint (the head has not moved)


def export_checkpoint() -> Exported | None:
    """Seal what is pending, sign the head and write it to AUDIT_CHECKPOINT_URL.

    Idempotent: one file per sequence number; when the head has not moved since the last
    export, the existing file is kept. Refuses (CheckpointError) to sign a head when the chain
    no longer reaches the latest checkpoint already written (someone rewrote it) or when an
    existing file for this sequence names another hash. Returns None for an empty chain.
    """
    if not settings.AUDIT_CHECKPOINT_URL:
        raise CheckpointError("AUDIT_CHECKPOINT_URL is not set: nowhere to export checkpoints")
    if not settings.AUDIT_SIGNING_KEY_ID:
        raise CheckpointError("AUDIT_SIGNING_KEY is not set: checkpoints cannot be signed")
    directory = directory_from_url(settings.AUDIT_CHECKPOINT_URL)
    seal_pending()
    seq, head = sealed_head()
    if seq == 0:
        return None
    _check_still_reaches_latest(directory)
    checkpoint = sign_head(seq, head)
    try:
        return Exported(checkpoint, _write_new(directory, checkpoint), new=True)
    except FileExistsError:
        path = directory / checkpoint.filename
        existing = parse_checkpoint(path.read_text(encoding="utf-8"), source=path.name)
        if existing.head != head:
            raise CheckpointError(
                f"{path.name} says entry #{seq} hashes to {existing.head[:16]}…, the chain now "
                f"says {head[:16]}…: the chain was rewritten"
            ) from None
        return Exported(existing, path, new=False)


def _check_still_reaches_latest(directory: Path) -> None:
    """The latest checkpoint on disk must still be on the chain before a newer one is signed."""
    if not directory.is_dir():
        return
    names = sorted(directory.glob(f"{FILE_PREFIX}*.json"))
    if not names:
        return
    latest = parse_checkpoint(names[-1].read_text(encoding="utf-8"), source=names[-1].name)
    found = AuditEntry.objects.filter(seq=latest.seq).values_list("entry_hash", flat=True).first()
    if found != latest.head:
        raise CheckpointError(
            f"the chain no longer reaches signed checkpoint #{latest.seq} ({names[-1].name}): "
            "not signing a new head"
        )
