"""Downloads of generated media and API-given image URLs: only https, only allowed hosts, never the server's own
network (also not after a redirect or a changed DNS answer), a size cap while streaming, content checked."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image

from core.api.clips import fetch_image
from core.errors import ValidationError
from core.higgs import HiggsClient, PollSchedule, client_from_settings, image_body
from core.higgs.errors import HiggsDownloadError
from core.models import Asset
from core.netguard import (
    DownloadError,
    DownloadPolicy,
    DownloadRefused,
    GuardedTransport,
    fetch,
    guarded_client,
    host_matches,
    resolve_host,
)
from core.runtime import Runtime
from tests.conftest import make_test_settings
from tests.fakes.higgs_server import FakeHiggsServer

PUBLIC = "93.184.216.34"


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A DNS stand-in: names the test controls, so no lookup leaves the machine."""
    def resolve(host: str, port: int) -> list[str]:
        return table[host]
    return resolve


def policy(*hosts: str, table: dict[str, list[str]] | None = None, **kw: object) -> DownloadPolicy:
    return DownloadPolicy(allowed_hosts=hosts, resolver=resolver(table or {}), **kw)  # type: ignore[arg-type]


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(buf, format="PNG")
    return buf.getvalue()


# ---- the policy --------------------------------------------------------------------------------------------
def test_https_on_an_allowed_public_host_passes_and_pins_its_address() -> None:
    target = policy("*.cdn.example", table={"a.cdn.example": [PUBLIC]}).check("https://a.cdn.example/x.png")
    assert (target.scheme, target.host, target.port, target.address) == ("https", "a.cdn.example", 443, PUBLIC)


@pytest.mark.parametrize("url, message", [
    ("http://a.cdn.example/x.png", "plain http"),
    ("file:///etc/passwd", "only http and https"),
    ("ftp://a.cdn.example/x.png", "only http and https"),
    ("https://evil.example/x.png", "evil.example, which is not an allowed download host"),
    ("https://cdn.example.evil.example/x.png", "not an allowed download host"),
    ("https://user:pw@a.cdn.example/x.png", "user name or password"),
    ("https:///x.png", "no host"),
])
def test_refused_urls_say_why(url: str, message: str) -> None:
    with pytest.raises(DownloadRefused, match=message) as info:
        policy("*.cdn.example", table={"a.cdn.example": [PUBLIC]}).check(url, what="The image URL")
    assert str(info.value).startswith("The image URL") and not info.value.retryable


def test_wildcards_match_subdomains_only() -> None:
    assert host_matches("a.example.com", "*.example.com") and host_matches("b.a.example.com", "*.example.com")
    assert not host_matches("example.com", "*.example.com") and not host_matches("badexample.com", "*.example.com")
    assert host_matches("EXAMPLE.com.", "example.com") and not host_matches("example.com.evil", "example.com")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fe80::1",
                                     "fc00::1", "::ffff:127.0.0.1", "ff02::1"])
def test_private_addresses_are_refused_by_name_and_as_literals(address: str) -> None:
    named = policy("media.example", table={"media.example": [address]})
    with pytest.raises(DownloadRefused, match="points to a private network address; downloads from there are "
                                              "not allowed"):
        named.check("https://media.example/x.png", what="The image URL")
    host = f"[{address}]" if ":" in address else address
    literal = policy(address.lower())
    with pytest.raises(DownloadRefused, match="private network address"):
        literal.check(f"https://{host}/x.png")
    assert literal.__class__(allowed_hosts=(address,), allow_private=True).check(f"https://{host}/x.png")


def test_the_real_resolver_sees_that_localhost_is_loopback() -> None:
    assert set(resolve_host("localhost", 80)) & {"127.0.0.1", "::1"}
    with pytest.raises(DownloadRefused, match="private network address"):
        DownloadPolicy(allowed_hosts=("localhost",)).check("https://localhost:8443/x.png")
    with pytest.raises(DownloadError, match="could not be found") as info:
        resolve_host("no-such-host.invalid", 443)
    assert info.value.retryable


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    mixed = policy("media.example", table={"media.example": [PUBLIC, "10.1.2.3"]})
    with pytest.raises(DownloadRefused, match="private"):
        mixed.check("https://media.example/x.png")


def test_settings_build_the_policy_and_always_allow_the_api_host(tmp_path: Path) -> None:
    strict = DownloadPolicy.from_settings(make_test_settings(tmp_path, higgs_base_url="https://api.higgs.test/v1"))
    assert strict.host_allowed("api.higgs.test") and strict.host_allowed("d111.cloudfront.net")
    assert not strict.host_allowed("example.org")
    assert (strict.allow_private, strict.allow_http, strict.max_redirects) == (False, False, 3)
    local = DownloadPolicy.from_settings(make_test_settings(
        tmp_path, download_allowed_hosts="media.test, *.local.test", allow_private_downloads=True,
        allow_http_downloads=True, max_download_mb=1))
    assert local.allowed_hosts[:2] == ("media.test", "*.local.test") and local.max_bytes == 1024 * 1024
    assert local.allow_private and local.allow_http


# ---- the transport: connect to the checked address --------------------------------------------------------
def test_the_transport_connects_to_the_checked_address_keeping_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def cdn(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    guarded = GuardedTransport(policy("cdn.example", table={"cdn.example": [PUBLIC]}), httpx.MockTransport(cdn))
    with httpx.Client(transport=guarded) as http:
        assert http.get("https://cdn.example/a.png?sig=1").content == b"ok"
    request = seen[0]
    assert request.url.host == PUBLIC and request.url.path == "/a.png" and request.url.query == b"sig=1"
    assert request.headers["host"] == "cdn.example" and request.extensions["sni_hostname"] == "cdn.example"


def test_a_dns_answer_that_turns_private_after_the_check_is_caught_at_connect_time() -> None:
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # rebinding: harmless for the check, loopback for the connect
    contacted: list[str] = []
    rebinding = DownloadPolicy(allowed_hosts=("cdn.example",), resolver=lambda host, port: next(answers))

    def anywhere(request: httpx.Request) -> httpx.Response:
        contacted.append(str(request.url))
        return httpx.Response(200, content=b"secret")

    client = guarded_client(rebinding, transport=httpx.MockTransport(anywhere))
    with client, pytest.raises(DownloadRefused, match="private network address"):
        fetch("https://cdn.example/a.png", rebinding, client=client)
    assert contacted == []


# ---- fetch over real HTTP: redirects and the cap -----------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    hits: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append((self.headers.get("Host", ""), self.path))
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def media_server() -> Iterator[tuple[int, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd.server_address[1], handler
    httpd.shutdown()
    httpd.server_close()


def _local(*hosts: str, **kw: object) -> DownloadPolicy:
    """Names that exist only in this test's resolver, all on the loopback server (so private must be allowed)."""
    table = {h: ["127.0.0.1"] for h in ("media.test", "cdn.test", "other.test")}
    return policy(*hosts, table=table, allow_private=True, allow_http=True, **kw)


def test_fetch_reaches_a_name_only_the_resolver_knows(media_server: tuple[int, type[_Handler]]) -> None:
    port, handler = media_server
    handler.routes["/a.png"] = (200, {"Content-Type": "image/png; charset=binary"}, png_bytes())
    got = fetch(f"http://media.test:{port}/a.png", _local("media.test"))
    assert got.data == png_bytes() and got.content_type == "image/png"
    assert handler.hits == [(f"media.test:{port}", "/a.png")]  # connected to the pinned address, Host kept


def test_redirects_are_followed_to_allowed_hosts_only(media_server: tuple[int, type[_Handler]]) -> None:
    port, handler = media_server
    handler.routes.update({
        "/start": (302, {"Location": f"http://cdn.test:{port}/moved"}, b""),
        "/moved": (307, {"Location": "/final"}, b""),
        "/final": (200, {"Content-Type": "image/png"}, png_bytes()),
        "/away": (301, {"Location": f"http://other.test:{port}/final"}, b""),
    })
    got = fetch(f"http://media.test:{port}/start", _local("media.test", "cdn.test"))
    assert got.data == png_bytes() and got.url == f"http://cdn.test:{port}/final"

    handler.hits.clear()
    with pytest.raises(DownloadRefused, match="redirects to a URL that points to other.test, which is not an "
                                              "allowed download host"):
        fetch(f"http://media.test:{port}/away", _local("media.test", "cdn.test"))
    assert [path for _, path in handler.hits] == ["/away"]  # the other host was never asked


def test_a_redirect_to_a_private_address_is_refused(media_server: tuple[int, type[_Handler]]) -> None:
    port, handler = media_server
    handler.routes["/start"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    # The first hop is allowed to be local here; the metadata address is on the list but must stay refused.
    hops = DownloadPolicy(allowed_hosts=("127.0.0.1", "169.254.169.254"), allow_http=True, allow_private=False)
    with pytest.raises(DownloadRefused, match="private network address"):
        fetch(f"http://127.0.0.1:{port}/start", hops, client=httpx.Client())  # an unguarded client is checked too
    allowed_first = DownloadPolicy(allowed_hosts=("127.0.0.1", "169.254.169.254"), allow_http=True,
                                   allow_private=True)
    handler.routes["/start"] = (302, {"Location": "https://cdn.test/x.png"}, b"")
    with pytest.raises(DownloadRefused, match="cdn.test, which is not an allowed download host"):
        fetch(f"http://127.0.0.1:{port}/start", allowed_first)


def test_more_than_three_redirects_give_up(media_server: tuple[int, type[_Handler]]) -> None:
    port, handler = media_server
    for i in range(5):
        handler.routes[f"/r{i}"] = (302, {"Location": f"/r{i + 1}"}, b"")
    handler.routes["/r3"] = (200, {"Content-Type": "image/png"}, png_bytes())
    assert fetch(f"http://media.test:{port}/r0", _local("media.test")).data == png_bytes()  # three hops: fine
    handler.routes["/r3"] = (302, {"Location": "/r4"}, b"")
    with pytest.raises(DownloadRefused, match="redirected more than 3 times"):
        fetch(f"http://media.test:{port}/r0", _local("media.test"))


def test_the_cap_is_enforced_while_streaming_and_by_declared_length(
        media_server: tuple[int, type[_Handler]]) -> None:
    port, handler = media_server
    handler.routes["/big"] = (200, {"Content-Type": "image/png"}, b"x" * 5000)
    with pytest.raises(DownloadError, match="over the 1000-byte cap"):
        fetch(f"http://media.test:{port}/big", _local("media.test"), max_bytes=1000)
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(10_000):
            produced.append(i)
            yield b"x" * 1024

    stream = httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    cdn = policy("cdn.example", table={"cdn.example": [PUBLIC]}, max_bytes=8 * 1024)
    with guarded_client(cdn, transport=stream) as client, pytest.raises(DownloadError, match="grew past"):
        fetch("https://cdn.example/a.png", cdn, client=client)
    assert len(produced) < 20


def test_http_errors_say_whether_a_retry_may_help(media_server: tuple[int, type[_Handler]]) -> None:
    port, handler = media_server
    handler.routes["/busy"] = (503, {}, b"busy")
    with pytest.raises(DownloadError) as busy:
        fetch(f"http://media.test:{port}/busy", _local("media.test"))
    with pytest.raises(DownloadError) as gone:
        fetch(f"http://media.test:{port}/gone", _local("media.test"))
    assert (busy.value.status_code, busy.value.retryable) == (503, True)
    assert (gone.value.status_code, gone.value.retryable) == (404, False)


# ---- the Higgs client and the API use it -------------------------------------------------------------------
def test_higgs_outputs_from_the_default_settings_refuse_a_loopback_host(tmp_path: Path) -> None:
    with FakeHiggsServer(latency_s=0.05) as server:
        key_id, secret = server.credentials
        base = make_test_settings(tmp_path, hf_key=f"{key_id}:{secret}", higgs_base_url=server.base_url)
        plain = base.model_copy(update={"allow_http_downloads": True})
        with client_from_settings(plain, backoff_base_s=0.01, poll=PollSchedule(0.05, 1.5, 0.1)) as client:
            slug = "higgsfield-ai/soul/standard"
            sub = client.submit(slug, image_body(slug, prompt="x"), idempotency_key="guard")
            url = client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).urls[0]
            with pytest.raises(HiggsDownloadError, match="private network address") as info:
                client.download(url, max_bytes=1_000_000)
            assert info.value.category == "download_refused" and not info.value.retryable
        with client_from_settings(base) as strict, pytest.raises(HiggsDownloadError, match="plain http"):
            strict.download(url, max_bytes=1_000_000)
        allowed = plain.model_copy(update={"allow_private_downloads": True})
        with client_from_settings(allowed) as local:
            assert local.download(url, max_bytes=1_000_000)[1] == "image/png"
        assert server.state.keyed_downloads == 0


def test_a_higgs_client_without_a_policy_allows_only_its_api_host_over_https() -> None:
    client = HiggsClient(base_url="https://api.higgs.test", key_id="id", key_secret="s")
    with client:
        assert client.download_policy.allowed_hosts == ("api.higgs.test",)
        with pytest.raises(HiggsDownloadError, match="elsewhere.test, which is not an allowed download host"):
            client.download("https://elsewhere.test/out.png", max_bytes=1000)


def test_api_image_urls_go_through_the_guard_and_the_content_check(sqlite_runtime: Runtime) -> None:
    asked: list[str] = []
    bodies = {"/photo.png": png_bytes(), "/page.png": b"<html>sign in</html>"}

    def site(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, content=bodies[request.url.path])

    settings = sqlite_runtime.settings.model_copy(update={"download_allowed_hosts": PUBLIC})
    client = httpx.Client(transport=httpx.MockTransport(site))
    with sqlite_runtime.sessions() as session:
        for url, message in [(f"http://{PUBLIC}/photo.png", "plain http"),
                             ("https://169.254.169.254/latest/meta-data/", "not an allowed download host"),
                             (f"https://{PUBLIC}/page.png", "did not give a usable image")]:
            with pytest.raises(ValidationError, match=message) as info:
                fetch_image(session, url, settings=settings, client=client)
            assert info.value.category == "bad_url"
        assert asked == ["/page.png"]  # refused URLs were never requested
        local = settings.model_copy(update={"download_allowed_hosts": "169.254.169.254"})
        with pytest.raises(ValidationError, match="The image URL points to a private network address"):
            fetch_image(session, "https://169.254.169.254/latest/meta-data/", settings=local, client=client)
        asset = fetch_image(session, f"https://{PUBLIC}/photo.png", settings=settings, client=client)
        assert isinstance(asset, Asset) and asset.content_type == "image/png" and asset.width == 8
    assert asked == ["/page.png", "/photo.png"]
