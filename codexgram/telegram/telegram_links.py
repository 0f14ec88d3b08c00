"""Which ``<a href>`` URLs Telegram keeps, and how it rewrites them (pure).

A reading of TDLib's ``LinkManager::check_link_impl`` (``td/telegram/LinkManager.cpp``) and ``parse_url`` /
``HttpUrl::get_url`` (``tdutils/td/utils/HttpUrl.cpp``), which ``parse_html`` applies to every link: only
http(s) URLs (a missing scheme means http) and ``tg:``, ``ton:``, ``tonsite:`` links survive, and the URL
Telegram returns is normalised - lower-case host, a ``/`` path at least (``https://e.org`` comes back as
``https://e.org/``), control characters and spaces in the path percent-encoded. Anything else gives no
link entity at all (not an error). ``mailto:a@b.c`` is not refused but read as ``http://`` with user info
``mailto:a``, exactly as TDLib does.

Known gap: TDLib first turns ``tg://user?id=N`` into a mention of user N (``get_link_user_id``); here it
stays a ``tg://`` link.
"""

from __future__ import annotations

import ipaddress

from attrs import frozen

__all__ = ["checked_link"]

_SPACES = " \t\r\n\0\v"  # TDLib's is_space
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_URL_PART_SYMBOLS = frozenset(".-_!$,~*'();&+=")  # allowed by RFC 7230 and RFC 3986, as TDLib lists them
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@frozen(kw_only=True)
class _HttpUrl:
    https: bool
    userinfo: str
    host: str
    is_ipv6: bool
    specified_port: int
    query: str  # always starts with "/"

    def url(self) -> str:
        userinfo = f"{self.userinfo}@" if self.userinfo else ""
        port = f":{self.specified_port}" if self.specified_port > 0 else ""
        return f"{'https' if self.https else 'http'}://{userinfo}{self.host}{port}{self.query}"


def checked_link(link: str) -> str | None:
    """The URL Telegram stores for a text link to ``link``, or ``None`` when it drops the link."""
    scheme = next((s for s in ("tg:", "ton:", "tonsite:") if _lower(link).startswith(s)), None)
    if scheme is not None:
        link = link[len(scheme) :]
        link = link.removeprefix("//")
    parsed = _parse_url(link)
    if parsed is None:
        return None
    if scheme is None:
        return parsed.url() if "." in parsed.host or parsed.is_ipv6 else None
    if (
        _lower(link).startswith("http://")
        or parsed.https
        or parsed.userinfo
        or parsed.specified_port != 0
        or parsed.is_ipv6
    ):
        return None
    query = parsed.query
    if len(query) > 1 and query[1] == "?":
        query = query[1:]
    host_symbols = "-_." if scheme == "tonsite:" else "-_"
    if any(ch not in _ASCII_ALNUM and ch not in host_symbols for ch in parsed.host):
        return None
    return f"{scheme[:-1]}://{parsed.host}{query}"


def _parse_url(url: str) -> _HttpUrl | None:
    protocol_end = _find_any(url, ":/?#@[]", 0)
    https = False
    rest = 0
    if url.startswith("://", protocol_end):
        protocol = _lower(url[:protocol_end])
        if protocol not in ("http", "https"):
            return None
        https = protocol == "https"
        rest = protocol_end + 3
    authority_end = _find_any(url, "/?#", rest)
    authority = url[rest:authority_end]

    colon = len(authority) - 1
    while colon > 0 and authority[colon] not in ":]@":
        colon -= 1
    port = 0
    if colon > 0 and authority[colon] == ":":
        port_text = authority[colon + 1 :]
        while len(port_text) > 1 and port_text[0] == "0":
            port_text = port_text[1:]
        port = _safe_int32(port_text) or -1
        authority = authority[:colon]
    if port < 0 or port > 65535:
        return None

    at = authority.rfind("@")
    userinfo = authority[:at] if at >= 0 else ""
    host = authority[at + 1 :]
    is_ipv6 = host.startswith("[") and host.endswith("]") and len(host) >= 2
    if is_ipv6 and not _is_ipv6(host[1:-1]):
        return None
    if not host or host == ".":
        return None

    query = url[authority_end:].rstrip(_SPACES) or "/"
    if query[0] != "/":
        query = "/" + query
    query = "".join(f"%{ord(ch):02X}" if ord(ch) <= 0x20 else ch for ch in query)

    host = _lower(host)
    if is_ipv6:
        if any(ch not in "0123456789abcdef:." for ch in host[1:-1]):
            return None
    elif not _is_url_part(host, allow_colon=False) or not _is_url_part(userinfo, allow_colon=True):
        return None
    return _HttpUrl(
        https=https, userinfo=userinfo, host=host, is_ipv6=is_ipv6, specified_port=port, query=query
    )


def _is_url_part(part: str, *, allow_colon: bool) -> bool:
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "%":
            if part[i + 1 : i + 2] not in _HEX or part[i + 2 : i + 3] not in _HEX:  # "" is in neither
                return False
            i += 3
            continue
        if not (
            ch in _ASCII_ALNUM or ch in _URL_PART_SYMBOLS or (allow_colon and ch == ":") or ord(ch) >= 128
        ):
            return False
        i += 1
    return True


def _find_any(text: str, stops: str, start: int) -> int:
    for index in range(start, len(text)):
        if text[index] in stops:
            return index
    return len(text)


def _safe_int32(text: str) -> int | None:
    """TDLib's ``to_integer_safe<int>``: a canonical decimal int32, else ``None``."""
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 and text != "-0" else None


def _is_ipv6(address: str) -> bool:
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)
