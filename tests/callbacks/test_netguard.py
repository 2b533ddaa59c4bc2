from __future__ import annotations

import ipaddress

import pytest
from django.test import override_settings

from approvals.callbacks.netguard import (
    SPECIAL_PURPOSE_NETWORKS,
    UnsafeCallbackURL,
    address_is_public,
    check_callback_url,
    resolve_callback_url,
)


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


# --- the IANA special-purpose deny list (docs/security.md "Secrets at rest and inputs") ------


@pytest.mark.parametrize(("network", "name"), SPECIAL_PURPOSE_NETWORKS)
@override_settings(CALLBACK_ALLOW_PRIVATE_NETWORKS=False)
def test_every_special_purpose_range_is_refused_first_to_last(network: str, name: str) -> None:
    net = ipaddress.ip_network(network)
    for address in (net[0], net[net.num_addresses // 2], net[-1]):
        assert not address_is_public(address), address
        host = f"[{address}]" if address.version == 6 else str(address)
        with pytest.raises(UnsafeCallbackURL) as refused:
            check_callback_url(f"https://{host}/hook")
        if address != net[-1]:  # the last may sit in a narrower entry (255.255.255.255/32)
            assert f"({network}, {name})" in refused.value.message


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.9",  # PCP anycast: "globally reachable" in the registry, refused here
        "192.0.0.10",
        "192.0.0.170",
        "3fff::1",  # global in ipaddress on Python 3.11
        "3fff:fff:ffff::1",
        "100.64.0.1",
        "100.127.255.254",
        "198.18.0.1",
        "198.19.255.254",
        "64:ff9b:1::1",
        "64:ff9b:1:ffff::1",
        "2001:db8::1",
        "2001:db8:ffff::1",
        "2001::1",  # Teredo
        "2001:2::1",  # benchmarking
        "2002:0808:0808::1",  # 6to4, even of a public IPv4 address
        "5f00::1",
        "100::1",
        "::1.2.3.4",  # IPv4-compatible (deprecated)
        "fec0::1",
        "4000::1",  # outside the global unicast space
        "::ffff:192.0.0.9",  # IPv4-mapped: judged by the address inside
        "64:ff9b::c000:9",  # NAT64 of 192.0.0.9
        "64:ff9b::6440:1",  # NAT64 of 100.64.0.1
    ],
)
def test_the_cases_this_python_calls_global_are_refused(address: str) -> None:
    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.215.14",
        "100.63.255.255",  # just below 100.64.0.0/10
        "100.128.0.0",  # just above
        "192.0.1.1",  # just above 192.0.0.0/24
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.254",
        "2606:4700:4700::1111",
        "2001:200::1",  # just above 2001::/23
        "2001:db9::1",
        "3fff:1000::1",  # just above 3fff::/20
        "::ffff:1.1.1.1",
        "64:ff9b::101:101",  # NAT64 of 1.1.1.1
    ],
)
def test_public_unicast_addresses_pass(address: str) -> None:
    assert address_is_public(ipaddress.ip_address(address)), address
