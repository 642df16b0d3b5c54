"""Upload URLs are guarded like downloads (issue 13, item 5): the Higgs client PUTs image bytes only to an https
URL on an allowed host with public addresses, never into our own network because the API said so, and what a
foreign host answers never reaches the job's error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.higgs import HiggsClient, HiggsError
from core.netguard import DownloadPolicy
from tests.fakes.higgs_server import FakeHiggsServer, Scripted

FOREIGN_WORDS = "internal-admin-panel: token=hunter2"


class _Victim(BaseHTTPRequestHandler):
    """A service on our own network that must never receive the studio's PUT."""

    puts: list[str] = []

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).puts.append(self.path)
        body = FOREIGN_WORDS.encode()
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def victim() -> Iterator[int]:
    _Victim.puts = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Victim)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def _client(server: FakeHiggsServer, policy: DownloadPolicy) -> HiggsClient:
    kwargs = {**server.client_kwargs(), "download_policy": policy, "timeout_s": 2.0, "backoff_base_s": 0.01,
              "max_attempts": 2}
    return HiggsClient(**kwargs)


def _hostile_reply(server: FakeHiggsServer, upload_url: str) -> None:
    server.script("upload_url", Scripted(body={"upload_url": upload_url, "public_url": "https://cdn.example/x.png",
                                               "upload_headers": {}}))


LOCAL = DownloadPolicy(allowed_hosts=("127.0.0.1",), allow_private=True, allow_http=True)


@pytest.mark.parametrize("policy, url_of, refusal", [
    (LOCAL, lambda port: f"http://localhost:{port}/admin", "not an allowed download host"),
    (replace(LOCAL, allowed_hosts=("127.0.0.1", "localhost"), allow_private=False),
     lambda port: f"http://localhost:{port}/admin", "private network address"),
    (replace(LOCAL, allowed_hosts=("127.0.0.1", "localhost"), allow_http=False),
     lambda port: f"http://localhost:{port}/admin", "https"),
    (LOCAL, lambda port: f"file:///etc/passwd#{port}", "https://"),
])
def test_a_hostile_upload_url_is_refused_before_a_byte_is_sent(victim: int, policy: DownloadPolicy,
                                                                url_of: Any, refusal: str) -> None:
    with FakeHiggsServer(latency_s=0.05) as server, _client(server, policy) as client:
        _hostile_reply(server, url_of(victim))
        with pytest.raises(HiggsError, match=refusal) as info:
            client.upload_image(b"\x89PNG fake", "image/png")
        assert info.value.category == "upload_refused" and not info.value.retryable
    assert _Victim.puts == []


def test_a_foreign_hosts_reply_is_never_echoed(victim: int) -> None:
    policy = replace(LOCAL, allowed_hosts=("127.0.0.1", "localhost"))  # the host is allowed; its words are not
    with FakeHiggsServer(latency_s=0.05) as server, _client(server, policy) as client:
        _hostile_reply(server, f"http://localhost:{victim}/bucket/object?sig=abc")
        with pytest.raises(HiggsError) as info:
            client.upload_image(b"\x89PNG fake", "image/png")
    assert _Victim.puts  # it was allowed, and refused the upload
    message = str(info.value)
    assert "403" in message and "localhost" in message
    assert FOREIGN_WORDS not in message and "hunter2" not in message and "sig=abc" not in message


def test_the_apis_own_upload_url_still_works() -> None:
    with FakeHiggsServer(latency_s=0.05) as server, _client(server, LOCAL) as client:
        public_url = client.upload_image(b"\x89PNG fake", "image/png")
    assert "/files/" in public_url and len(server.upload_ledger()) == 1
