"""`manage.py slack_manifest`: a manifest Slack's app manifest schema (v1) accepts.

The schema below is written from Slack's documented manifest structure (docs.slack.dev, "App
manifest reference"): the parts Checkpoint uses, with Slack's limits, and no other keys allowed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

URL = {"type": "string", "pattern": r"^https?://", "maxLength": 3500}
SCOPES = {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 255}
MANIFEST_V1 = {
    "type": "object",
    "required": ["display_information"],
    "additionalProperties": False,
    "properties": {
        "_metadata": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"major_version": {"type": "integer"}, "minor_version": {"type": "integer"}},
        },
        "display_information": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 35},
                "description": {"type": "string", "minLength": 1, "maxLength": 140},
                "background_color": {"type": "string", "pattern": r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"},
                "long_description": {"type": "string", "minLength": 175, "maxLength": 4000},
            },
        },
        "features": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "app_home": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "home_tab_enabled": {"type": "boolean"},
                        "messages_tab_enabled": {"type": "boolean"},
                        "messages_tab_read_only_enabled": {"type": "boolean"},
                    },
                },
                "bot_user": {
                    "type": "object",
                    "required": ["display_name"],
                    "additionalProperties": False,
                    "properties": {
                        "display_name": {"type": "string", "minLength": 1, "maxLength": 80},
                        "always_online": {"type": "boolean"},
                    },
                },
            },
        },
        "oauth_config": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "redirect_urls": {"type": "array", "items": {"type": "string"}},
                "scopes": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"bot": SCOPES, "user": SCOPES},
                },
            },
        },
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "interactivity": {
                    "type": "object",
                    "required": ["is_enabled"],
                    "additionalProperties": False,
                    "properties": {
                        "is_enabled": {"type": "boolean"},
                        "request_url": URL,
                        "message_menu_options_url": URL,
                    },
                },
                "org_deploy_enabled": {"type": "boolean"},
                "socket_mode_enabled": {"type": "boolean"},
                "token_rotation_enabled": {"type": "boolean"},
            },
        },
    },
}  # fmt: skip


def _manifest(**options: Any) -> dict[str, Any]:
    out = StringIO()
    call_command("slack_manifest", stdout=out, stderr=StringIO(), **options)
    manifest: dict[str, Any] = json.loads(out.getvalue())
    return manifest


def test_the_manifest_is_valid_for_slacks_schema_with_scopes_and_the_interactivity_url(
    settings: Any,
) -> None:
    settings.SITE_URL = "https://checkpoint.example.com"
    manifest = _manifest()
    jsonschema.validate(manifest, MANIFEST_V1)
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity == {
        "is_enabled": True,
        "request_url": "https://checkpoint.example.com/slack/interactions",
    }
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write", "im:write", "users:read", "users:read.email"}  # fmt: skip


def test_the_schema_check_is_not_vacuous() -> None:
    manifest = _manifest()
    manifest["display_information"]["name"] = "x" * 36
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, MANIFEST_V1)
    manifest = _manifest()
    manifest["settings"]["interactivity"]["request_url"] = "ftp://nope"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, MANIFEST_V1)


def test_a_custom_name_is_used_for_the_app_and_its_bot() -> None:
    manifest = _manifest(name="Approvals")
    assert manifest["display_information"]["name"] == "Approvals"
    assert manifest["features"]["bot_user"]["display_name"] == "Approvals"


@pytest.mark.parametrize("name", ["", "   ", "x" * 36])
def test_a_bad_name_is_refused(name: str) -> None:
    with pytest.raises(CommandError, match="--name must be 1 to 35 characters"):
        _manifest(name=name)


def test_from_the_shell_a_bad_option_is_one_line_and_non_zero() -> None:
    env = {"DEBUG": "1", "CHECKPOINT_DEMO": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "manage.py", "slack_manifest", "--nope"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1
