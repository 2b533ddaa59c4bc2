from __future__ import annotations

import pytest
from django.test import override_settings

from approvals.callbacks.netguard import UnsafeCallbackURL, check_callback_url, resolve_callback_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.0.0.5/",
        "http://172.16.1.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd12:3456::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
    ],
)
@override_settings(CALLBACK_ALLOW_PRIVATE_NETWORKS=False)
def test_it_refuses_non_public_addresses(url: str) -> None:
    with pytest.raises(UnsafeCallbackURL, match="callback"):
        check_callback_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://1.1.1.1/",
        "javascript:alert(1)",
        "",
        "http://",
        "http://user:pw@1.1.1.1/",
        "http://1.1.1.1:99999/",
        "http://1.1.1.1/ x",
        "http://1.1.1.1/" + "a" * 3000,
        "https://no-such-host.invalid/",
    ],
)
@override_settings(CALLBACK_ALLOW_PRIVATE_NETWORKS=False)
def test_it_refuses_malformed_urls(url: str) -> None:
    with pytest.raises(UnsafeCallbackURL):
        check_callback_url(url)


@override_settings(CALLBACK_ALLOW_PRIVATE_NETWORKS=False)
def test_it_accepts_public_literal_addresses() -> None:
    check_callback_url("https://93.184.215.14/hooks")
    check_callback_url("https://[2606:4700:4700::1111]:8443/hooks")
    assert resolve_callback_url("http://1.1.1.1/") == [
        __import__("ipaddress").ip_address("1.1.1.1")
    ]


@override_settings(CALLBACK_ALLOW_PRIVATE_NETWORKS=True)
def test_it_allows_private_networks_when_configured() -> None:
    check_callback_url("http://127.0.0.1:9000/hook")
    with pytest.raises(UnsafeCallbackURL):
        check_callback_url("ftp://127.0.0.1/")


def test_the_error_is_a_value_error_with_a_message() -> None:
    with (
        override_settings(CALLBACK_ALLOW_PRIVATE_NETWORKS=False),
        pytest.raises(ValueError) as info,
    ):
        check_callback_url("http://127.0.0.1/")
    assert "127.0.0.1" in info.value.message  # type: ignore[attr-defined]
