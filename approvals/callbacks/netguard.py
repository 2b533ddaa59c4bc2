"""SSRF guard for callback URLs (docs/api.md "Callbacks").

A callback URL is caller-supplied, and the server POSTs to it. Without a guard a caller
could make Checkpoint talk to its own loopback services, the cloud metadata endpoint or the
private network. So a URL must be http(s), and every address its host resolves to must be a
public unicast address, unless ``settings.CALLBACK_ALLOW_PRIVATE_NETWORKS`` is on (demo, tests).

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


def address_is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address.

    IPv4-mapped (::ffff:a.b.c.d), 6to4 and NAT64-style embeddings are judged by the IPv4
    address inside, since that is where the packet ends up.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return address_is_public(address.sixtofour)
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            return address_is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        # 100.64.0.0/10 (carrier-grade NAT) is neither private nor global in ipaddress.
        or not address.is_global
    )


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
        if not address_is_public(address):
            # Refuse if ANY address is private: a client may pick any of them.
            raise UnsafeCallbackURL(
                f"The callback host {host!r} resolves to {address}, a loopback, private, "
                "link-local or otherwise non-public address; callbacks there are refused."
            )
    return addresses


def check_callback_url(url: str) -> None:
    """Raise ``UnsafeCallbackURL`` unless ``url`` is a callback URL Checkpoint may POST to."""
    resolve_callback_url(url)
