"""SSRF guard for callback URLs (docs/api.md "Callbacks").

A callback URL is caller-supplied, and the server POSTs to it. Without a guard a caller
could make Checkpoint talk to its own loopback services, the cloud metadata endpoint or the
private network. So a URL must be http(s), and every address its host resolves to must be a
public unicast address (in none of the IANA special-purpose ranges below), unless ``settings.CALLBACK_ALLOW_PRIVATE_NETWORKS`` is on (demo, tests).

Two entry points:

- ``check_callback_url(url)`` — at intake (and anywhere a URL is accepted): raises
  ``UnsafeCallbackURL`` with a message fit for a 422 ``errors[].message``.
- ``resolve_callback_url(url)`` — at send time: checks again and returns the vetted
  addresses, so the sender can re-check right before connecting. Resolution happens at send
  time, not only at intake, because DNS can change between the two (rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeCallbackURL(ValueError):
    """The callback URL is malformed or points somewhere Checkpoint must not call."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _private_allowed() -> bool:
    return settings.CALLBACK_ALLOW_PRIVATE_NETWORKS


# The IANA special-purpose address registries (iana.org/assignments/iana-ipv4-special-registry
# and iana-ipv6-special-registry), plus multicast, written out rather than taken from
# ipaddress's is_private / is_global, whose answers change between Python versions (3.11 takes
# 192.0.0.0/24 and 3fff::/20 for global). Every entry is refused whole, even the parts the
# registry marks globally reachable (anycast relays, AS112): no callback belongs there.
# docs/security.md "Secrets at rest and inputs" lists them; tests/callbacks/test_netguard.py
# tries each.
SPECIAL_PURPOSE_NETWORKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", '"this network"'),
    ("10.0.0.0/8", "private use"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private use"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.31.196.0/24", "AS112-v4"),
    ("192.52.193.0/24", "AMT"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast"),
    ("192.168.0.0/16", "private use"),
    ("192.175.48.0/24", "direct delegation AS112 service"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("255.255.255.255/32", "limited broadcast"),
    ("::/8", "loopback, unspecified and reserved"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
    ("100::/64", "discard-only"),
    ("100:0:0:1::/64", "dummy IPv6 prefix"),
    ("2001::/23", "IETF protocol assignments (Teredo, ORCHID, benchmarking, AMT, AS112)"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("2620:4f:8000::/48", "direct delegation AS112 service"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6) SIDs"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "deprecated site-local"),
    ("ff00::/8", "multicast"),
)
# Most specific first, so an address is named by the narrowest entry that holds it.
_SPECIAL = sorted(
    ((ipaddress.ip_network(net), name) for net, name in SPECIAL_PURPOSE_NETWORKS),
    key=lambda entry: -entry[0].prefixlen,
)
# Everything routable on the IPv6 internet is global unicast, 2000::/3.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (a registry entry), or None if it is.

    IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses are judged by the IPv4
    address inside, since that is where the packet ends up.
    """
    if isinstance(address, ipaddress.IPv6Address) and (
        address in _IPV4_MAPPED or address in _NAT64
    ):
        inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        reason = non_public_reason(inner)
        return None if reason is None else f"{reason}, embedded as {inner}"
    for network, name in _SPECIAL:
        if address.version == network.version and address in network:
            return f"{network}, {name}"
    if isinstance(address, ipaddress.IPv6Address) and address not in _IPV6_GLOBAL_UNICAST:
        return "outside 2000::/3, the IPv6 global unicast space"
    return None


def address_is_public(address: IPAddress) -> bool:
    """True for a publicly routable unicast address: in no special-purpose range."""
    return non_public_reason(address) is None


def _split(url: str) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url:
        raise UnsafeCallbackURL("The callback URL must be a non-empty string.")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeCallbackURL(f"The callback URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeCallbackURL("The callback URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeCallbackURL(f"The callback URL is not a valid URL: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeCallbackURL("The callback URL must start with http:// or https://.")
    host = parts.hostname
    if not host:
        raise UnsafeCallbackURL("The callback URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeCallbackURL("The callback URL must not contain credentials.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeCallbackURL(f"The callback host {host!r} does not resolve.") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = _literal(str(info[4][0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeCallbackURL(f"The callback host {host!r} does not resolve.")
    return addresses


def resolve_callback_url(url: str) -> list[IPAddress]:
    """Validate ``url`` and return the addresses its host resolves to (all vetted).

    With ``CALLBACK_ALLOW_PRIVATE_NETWORKS`` on, only the URL's shape is checked and no DNS
    lookup is made (an empty list is returned).
    """
    _, host, port = _split(url)
    if _private_allowed():
        return []
    addresses = _resolve(host, port)
    for address in addresses:
        # Refuse if ANY address is not public: a client may pick any of them.
        if (reason := non_public_reason(address)) is not None:
            raise UnsafeCallbackURL(
                f"The callback host {host!r} resolves to {address}, a special-purpose "
                f"(loopback, private, reserved or otherwise non-public) address ({reason}); "
                "callbacks there are refused."
            )
    return addresses


def check_callback_url(url: str) -> None:
    """Raise ``UnsafeCallbackURL`` unless ``url`` is a callback URL Checkpoint may POST to."""
    resolve_callback_url(url)
