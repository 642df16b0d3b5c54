"""Guarded downloads: which URLs the studio may fetch generated media (or API-given images) from, and the fetch.

A URL handed to us by a provider or an API client is untrusted: it could point the server at its own network
(server-side request forgery: `http://169.254.169.254/`, `http://localhost:5432/`, a DNS name that resolves to
10.0.0.5), or redirect there after a harmless first hop. So every hop is checked the same way:

- the scheme is `https` (`http` only when `allow_http_downloads`);
- the host is on the allow-list (`download_allowed_hosts`, plus the host of `higgs_base_url`);
- every address the host resolves to (or the IP literal itself) is public, unless `allow_private_downloads`.

`GuardedTransport` makes the check at connect time and pins the connection to the address it checked (the URL
keeps its host for the `Host` header and TLS SNI / certificate check), so a DNS answer that changes between the
check and the connect (DNS rebinding) cannot slip a private address in. `fetch` follows at most
`max_redirects` redirects itself, each through the same check, and stops streaming past the size cap.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from core.errors import StudioError
from core.settings import Settings

Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEFAULT_TIMEOUT_S = 30.0


class DownloadError(StudioError):
    """A download failed: `status_code` is the HTTP status when there was one; `retryable` when worth a retry."""

    category = "download"

    def __init__(self, message: str, *, category: str | None = None, retryable: bool = False,
                 status_code: int | None = None) -> None:
        super().__init__(message, category=category)
        self.retryable = retryable
        self.status_code = status_code


class DownloadRefused(DownloadError):
    """The URL (or a redirect) is not one we may fetch from. Never retryable: the answer will not change."""

    category = "download_refused"


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), as strings."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise DownloadError(f"The host {host} could not be found ({err}).", retryable=True) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_host_patterns(text: str) -> tuple[str, ...]:
    """`"a.example.com, *.cdn.net"` -> `("a.example.com", "*.cdn.net")`, lower case, blanks dropped."""
    return tuple(p.strip().lower().rstrip(".") for p in text.split(",") if p.strip())


def host_matches(host: str, pattern: str) -> bool:
    """`*.example.com` matches `a.example.com` and `b.a.example.com`, not `example.com` or `badexample.com`."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def is_public_address(addr: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and shared (CGNAT) addresses."""
    mapped = getattr(addr, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1
        addr = mapped
    return addr.is_global and not (addr.is_private or addr.is_loopback or addr.is_link_local
                                   or addr.is_multicast or addr.is_reserved or addr.is_unspecified)


@dataclass(frozen=True)
class Target:
    """A URL that passed the check: where to connect (`address`, one the host resolved to) and how."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


@dataclass(frozen=True)
class DownloadPolicy:
    """Where downloads may come from. Build it with `from_settings`; the defaults are the strict ones."""

    allowed_hosts: tuple[str, ...] = ()
    allow_private: bool = False
    allow_http: bool = False
    max_bytes: int = 200 * 1024 * 1024
    max_redirects: int = 3
    resolver: Resolver = field(default=resolve_host, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> DownloadPolicy:
        hosts = parse_host_patterns(settings.download_allowed_hosts)
        api_host = (urlsplit(settings.higgs_base_url).hostname or "").lower()
        if api_host and api_host not in hosts:
            hosts += (api_host,)  # the API host may serve its own outputs
        values: dict[str, object] = {"allowed_hosts": hosts, "allow_private": settings.allow_private_downloads,
                                     "allow_http": settings.allow_http_downloads,
                                     "max_bytes": settings.max_download_bytes}
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def host_allowed(self, host: str) -> bool:
        return any(host_matches(host, pattern) for pattern in self.allowed_hosts)

    def check(self, url: str, *, what: str = "The download URL") -> Target:
        """The URL's connect target, or `DownloadRefused` saying plainly why it may not be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise DownloadRefused(f"{what} is not a valid URL.") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise DownloadRefused(f"{what} must start with https:// (got {scheme or 'no'} scheme); "
                                  "only http and https downloads are allowed.")
        if scheme == "http" and not self.allow_http:
            raise DownloadRefused(f"{what} uses plain http; downloads must use https "
                                  "(set ALLOW_HTTP_DOWNLOADS only for local tests).")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise DownloadRefused(f"{what} has no host.")
        if parts.username or parts.password:
            raise DownloadRefused(f"{what} carries a user name or password; that is not allowed.")
        if not self.host_allowed(host):
            raise DownloadRefused(f"{what} points to {host}, which is not an allowed download host "
                                  "(see DOWNLOAD_ALLOWED_HOSTS).")
        port = port or (443 if scheme == "https" else 80)
        literal = _ip_literal(host)
        addresses = [host] if literal is not None else list(self.resolver(host, port))
        if not addresses:
            raise DownloadError(f"The host {host} could not be found.", retryable=True)
        if not self.allow_private:
            for text in addresses:
                if not is_public_address(ipaddress.ip_address(text.split("%", 1)[0])):
                    raise DownloadRefused(f"{what} points to a private network address; downloads from there "
                                          "are not allowed.")
        return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedTransport(httpx.BaseTransport):
    """Checks every request against the policy and connects to the address it checked (no second DNS lookup).

    The request keeps its `Host` header and, for https, its host name for SNI and certificate checks (the
    `sni_hostname` extension), so pinning changes only where the socket goes.
    """

    def __init__(self, policy: DownloadPolicy, inner: httpx.BaseTransport | None = None, *,
                 what: str = "The download URL") -> None:
        self.policy = policy
        self.what = what
        # No keep-alive: the pool is keyed by the pinned address, so a kept connection could be reused for another
        # host name on the same address, under the first host's TLS session. Downloads are few and large.
        self._inner = inner or httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.policy.check(str(request.url), what=self.what)
        if _ip_literal(target.host) is None:
            if target.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": target.host}
            request.url = request.url.copy_with(host=target.address)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def guarded_client(policy: DownloadPolicy, *, transport: httpx.BaseTransport | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S, user_agent: str | None = None,
                   what: str = "The download URL") -> httpx.Client:
    """An httpx client whose every request goes through `GuardedTransport`; redirects are left to `fetch`."""
    headers = {"User-Agent": user_agent} if user_agent else None
    return httpx.Client(transport=GuardedTransport(policy, transport, what=what), timeout=timeout_s,
                        follow_redirects=False, headers=headers)


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    url: str  # the final URL, after redirects


def fetch(url: str, policy: DownloadPolicy, *, client: httpx.Client | None = None, max_bytes: int | None = None,
          what: str = "The download URL") -> Fetched:
    """GET `url` under `policy`: every hop checked, redirects followed by hand, streaming stopped past the cap.

    `client` should come from `guarded_client` (its transport pins checked addresses); any other client is still
    checked hop by hop here, but without pinning.
    """
    cap = policy.max_bytes if max_bytes is None else max_bytes
    own = client is None
    http = client or guarded_client(policy, what=what)
    try:
        current = url
        for hop in range(policy.max_redirects + 1):
            policy.check(current, what=what if hop == 0 else f"{what} redirects to a URL that")
            with http.stream("GET", current, follow_redirects=False) as resp:
                if resp.status_code in REDIRECT_CODES:
                    location = resp.headers.get("location")
                    if not location:
                        raise DownloadError(f"{what} redirected ({resp.status_code}) without saying where.",
                                            status_code=resp.status_code)
                    current = urljoin(current, location)
                    continue
                if resp.status_code >= 400:
                    raise DownloadError(f"Downloading from {_shown(current)} failed (HTTP {resp.status_code}).",
                                        retryable=resp.status_code >= 500 or resp.status_code == 429,
                                        status_code=resp.status_code)
                data = _read_capped(resp, cap, current)
                content_type = resp.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
                return Fetched(data, content_type, current)
        raise DownloadRefused(f"{what} redirected more than {policy.max_redirects} times; giving up.")
    except httpx.UnsupportedProtocol as err:
        raise DownloadRefused(f"{what} uses an unsupported protocol ({err}).") from err
    except httpx.TimeoutException as err:
        raise DownloadError(f"Downloading from {_shown(current)} timed out ({type(err).__name__}).",
                            retryable=True) from err
    except httpx.TransportError as err:
        raise DownloadError(f"Downloading from {_shown(current)} failed ({type(err).__name__}: {err}).",
                            retryable=True) from err
    finally:
        if own:
            http.close()


def _read_capped(resp: httpx.Response, cap: int, url: str) -> bytes:
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise DownloadError(f"{_shown(url)} is {int(declared)} bytes, over the {cap}-byte cap.")
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise DownloadError(f"{_shown(url)} grew past the {cap}-byte cap; download stopped.")
        chunks.append(chunk)
    return b"".join(chunks)


def _shown(url: str) -> str:
    """A URL without user info or query: signed CDN URLs carry signatures that do not belong in messages."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
