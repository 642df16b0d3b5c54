"""HiggsClient against the local Higgs-protocol server, over real HTTP: lifecycles, every error code of the
shared page's table, idempotent resubmission, cancel, upload, downloads, and what reaches the logs."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from core.errors import ProviderError
from core.higgs import (
    HiggsAuthError,
    HiggsBusyError,
    HiggsClient,
    HiggsCreditsError,
    HiggsDownloadError,
    HiggsError,
    HiggsNotFoundError,
    HiggsProtocolError,
    HiggsRejectedError,
    HiggsServerError,
    PollSchedule,
    clip_body,
    image_body,
)
from core.netguard import DownloadPolicy
from tests.fakes.higgs_server import FakeHiggsServer, Scripted

IMAGE = "higgsfield-ai/soul/standard"
OMNI = "kling-video/omni/first-last-frame"
FAST_POLLS = PollSchedule(initial_s=0.05, factor=1.5, max_s=0.2, jitter=0.1)


class SleepLog:
    """A real (capped) sleep that remembers the waits asked for, so tests can check the retry policy."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(min(seconds, 0.5))


def make_client(server: FakeHiggsServer, **overrides: Any) -> HiggsClient:
    kwargs: dict[str, Any] = {**server.client_kwargs(), "timeout_s": 2.0, "backoff_base_s": 0.01,
                              "poll": FAST_POLLS, "sleep": SleepLog()}
    kwargs.update(overrides)
    return HiggsClient(**kwargs)


@pytest.fixture
def server() -> Iterator[FakeHiggsServer]:
    with FakeHiggsServer(latency_s=0.15) as srv:
        yield srv


@pytest.fixture
def client(server: FakeHiggsServer) -> Iterator[HiggsClient]:
    with make_client(server) as c:
        yield c


def _image(client: HiggsClient, key: str = "key-1", prompt: str = "a lighthouse at dusk") -> Any:
    return client.submit(IMAGE, image_body(IMAGE, prompt=prompt), idempotency_key=key)


# ---- lifecycles -------------------------------------------------------------------------------------
def test_image_submit_poll_download_gives_a_real_png_charged_once(server: FakeHiggsServer,
                                                                  client: HiggsClient) -> None:
    sub = _image(client)
    seen: list[str] = []
    outcome = client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5,
                          on_poll=lambda st: seen.append(st.status))
    assert outcome.kind == "completed" and outcome.error is None
    assert len(outcome.urls) == 1 and outcome.expires_at
    assert seen[-1] == "completed" and outcome.polls == len(seen)
    data, content_type = client.download(outcome.urls[0], max_bytes=1_000_000)
    assert content_type == "image/png"
    assert Image.open(io.BytesIO(data)).size == (320, 180)
    assert server.charged_requests == 1
    assert server.state.keyed_downloads == 0  # the key never went to the "CDN"


def test_clip_with_first_and_last_frame_gives_a_real_mp4(server: FakeHiggsServer, client: HiggsClient) -> None:
    body = clip_body(OMNI, prompt="slow push-in", start_url="https://cdn.example/a.png",
                     end_url="https://cdn.example/b.png", duration=5)
    sub = client.submit(OMNI, body, idempotency_key="clip-1")
    outcome = client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5)
    assert outcome.kind == "completed" and outcome.urls[0].endswith(".mp4")
    data, content_type = client.download(outcome.urls[0], max_bytes=1_000_000)
    assert content_type == "video/mp4"
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert len(list(container.decode(stream))) == 24


def test_first_poll_lands_at_expected_completion_so_one_poll_suffices() -> None:
    # The benchmark's situation scaled down: render latency == initial poll delay.
    with FakeHiggsServer(latency_s=0.3) as srv, make_client(srv, poll=PollSchedule(0.3, 1.5, 1.0, 0.1)) as c:
        sub = _image(c)
        outcome = c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5)
    assert outcome.kind == "completed" and outcome.polls == 1


def test_follows_the_returned_status_url_not_a_rebuilt_one() -> None:
    with FakeHiggsServer(latency_s=0.1, status_prefix="/queue/requests") as srv, make_client(srv) as c:
        sub = _image(c)
        assert "/queue/requests/" in (sub.status_url or "")
        assert c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).kind == "completed"
        assert set(srv.state.status_paths) == {"queue/requests"}


def test_a_status_url_on_another_host_is_not_sent_the_key(server: FakeHiggsServer, client: HiggsClient,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    sub = _image(client)
    foreign = f"http://attacker.invalid/requests/{sub.request_id}/status"
    with caplog.at_level(logging.WARNING, logger="core.higgs"):
        outcome = client.wait(sub.request_id, status_url=foreign, deadline_s=5)
    assert outcome.kind == "completed"  # polled on our own host instead
    assert "another host" in caplog.text


def test_eight_parallel_jobs_through_one_client(server: FakeHiggsServer, client: HiggsClient) -> None:
    kinds: list[str] = []

    def job(i: int) -> None:
        sub = _image(client, key=f"par-{i}", prompt=f"frame {i}")
        kinds.append(client.wait(sub.request_id, status_url=sub.status_url, deadline_s=10).kind)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert kinds == ["completed"] * 8
    assert server.charged_requests == 8


# ---- outcomes that are not a result -----------------------------------------------------------------
@pytest.mark.parametrize(("knob", "kind", "words"), [("nsfw_rate", "nsfw", "moderation"),
                                                     ("failed_rate", "failed", "could not render")])
def test_nsfw_and_failed_outcomes_explain_and_are_not_charged(knob: str, kind: str, words: str) -> None:
    rates: dict[str, Any] = {knob: 1.0}
    with FakeHiggsServer(latency_s=0.1, **rates) as srv, make_client(srv) as c:
        sub = _image(c)
        outcome = c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5)
        assert outcome.kind == kind and not outcome.urls
        assert outcome.error and words in outcome.error
        assert srv.charged_requests == 0


def test_deadline_gives_timed_out_without_waiting_for_the_render() -> None:
    with FakeHiggsServer(latency_s=30) as srv, make_client(srv) as c:
        sub = _image(c)
        started = time.monotonic()
        outcome = c.wait(sub.request_id, status_url=sub.status_url, deadline_s=0.4)
    assert outcome.kind == "timed_out"
    assert time.monotonic() - started < 1.5
    assert outcome.polls >= 2 and outcome.error and "in_progress" in outcome.error


def test_poll_errors_and_unknown_statuses_count_as_still_running(server: FakeHiggsServer,
                                                                 client: HiggsClient) -> None:
    server.script("status", Scripted.error(502, "bad gateway"), Scripted(body={"status": "rendering"}),
                  Scripted.drop(process=False), Scripted(raw=b"<html>oops</html>"))
    sub = _image(client)
    outcome = client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5)
    assert outcome.kind == "completed"
    assert outcome.polls >= 5


def test_old_v1_job_set_shape_is_understood(server: FakeHiggsServer, client: HiggsClient) -> None:
    url = f"{server.base_url}/outputs/x/0.png"
    server.script("status", Scripted(body={"id": "js-1", "jobs": [{"status": "completed",
                                                                   "results": {"raw": {"url": url}}}]}))
    outcome = client.wait("js-1", deadline_s=5)
    assert outcome.kind == "completed" and outcome.urls == (url,)


# ---- the error table --------------------------------------------------------------------------------
RETRYABLE = [
    Scripted.error(400, "Maximum number of concurrent requests (4) has been reached"),
    Scripted.error(429, {"code": "account_queue_full", "message": "Queue is full"}, retry_after=0.2),
    Scripted.error(423, "Model is blocked"),
    Scripted.error(503, "Model not ready"),
    Scripted.error(500, "boom"),
    Scripted.error(502, "bad gateway", process=True),
    Scripted.error(504, "gateway timeout", process=True),
]


@pytest.mark.parametrize("reply", RETRYABLE, ids=lambda r: str(r.status))
def test_ambiguous_and_busy_replies_resubmit_with_the_same_key(server: FakeHiggsServer,
                                                               reply: Scripted) -> None:
    sleeps = SleepLog()
    with make_client(server, sleep=sleeps) as c:
        server.script("submit", reply)
        sub = _image(c)
        assert c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).kind == "completed"
    assert server.submits == 2
    assert server.created_requests == 1 and server.charged_requests == 1
    assert server.requests[0].idempotency_key == "key-1"
    if reply.status == 429:
        assert sleeps.calls[0] == pytest.approx(0.2)  # waited exactly Retry-After


@pytest.mark.parametrize(("reply", "error_type", "words"), [
    (Scripted.error(400, "prompt is empty"), HiggsRejectedError, "prompt is empty"),
    (Scripted.error(401, "Invalid credentials"), HiggsAuthError, "HF_KEY"),
    (Scripted.error(403, "Not enough credits"), HiggsCreditsError, "User-Agent"),
    (Scripted.error(404, "Model not found"), HiggsNotFoundError, "retired"),
    (Scripted.error(422, [{"loc": ["body", "duration"], "msg": "Input should be a valid integer"}]),
     HiggsRejectedError, "duration: Input should be a valid integer"),
], ids=["400", "401", "403", "404", "422"])
def test_final_errors_stop_with_a_readable_message(server: FakeHiggsServer, client: HiggsClient,
                                                  reply: Scripted, error_type: type, words: str) -> None:
    server.script("submit", reply)
    with pytest.raises(error_type) as info:
        _image(client)
    err = info.value
    assert isinstance(err, HiggsError) and isinstance(err, ProviderError) and not err.retryable
    assert err.status_code == reply.status and err.correlation_id
    assert words in str(err)
    assert server.submits == 1


def test_real_401_for_a_wrong_secret(server: FakeHiggsServer) -> None:
    with make_client(server, key_secret="wrong") as c, pytest.raises(HiggsAuthError):
        _image(c)


def test_python_default_user_agent_gets_the_cdn_403(server: FakeHiggsServer) -> None:
    agent = f"python-httpx/{httpx.__version__}"
    with make_client(server, user_agent=agent) as c, pytest.raises(HiggsCreditsError) as info:
        _image(c)
    assert "credits" in str(info.value) and "python-httpx" in str(info.value)


def test_retired_slug_is_a_404_that_says_so(server: FakeHiggsServer, client: HiggsClient) -> None:
    server.retire(IMAGE)
    with pytest.raises(HiggsNotFoundError, match="retired"):
        _image(client)


def test_idempotency_key_reused_with_another_body_is_a_422(server: FakeHiggsServer, client: HiggsClient) -> None:
    _image(client, key="same", prompt="first")
    with pytest.raises(HiggsRejectedError, match="idempotency key was already used"):
        _image(client, key="same", prompt="second")
    assert server.created_requests == 1


def test_gives_up_after_max_attempts_and_says_it_may_help_later() -> None:
    with FakeHiggsServer(server_error_rate=1.0) as srv, make_client(srv, max_attempts=3) as c:
        with pytest.raises((HiggsServerError, HiggsBusyError)) as info:
            _image(c)
        assert info.value.retryable
        assert srv.submits == 3


def test_without_retry_after_the_backoff_doubles_with_jitter() -> None:
    sleeps = SleepLog()
    with FakeHiggsServer(server_error_rate=1.0) as srv, \
            make_client(srv, max_attempts=4, backoff_base_s=0.02, sleep=sleeps) as c, \
            pytest.raises(HiggsError):
        _image(c)
    assert len(sleeps.calls) == 3
    for attempt, wait in enumerate(sleeps.calls):
        assert 0.01 * 2**attempt <= wait <= 0.02 * 2**attempt


def test_long_retry_after_is_raised_for_the_queue_instead_of_slept(server: FakeHiggsServer) -> None:
    sleeps = SleepLog()
    server.script("submit", Scripted.error(429, "queue full", retry_after=120))
    with make_client(server, sleep=sleeps, max_retry_wait_s=30) as c, pytest.raises(HiggsBusyError) as info:
        _image(c)
    assert info.value.retryable and info.value.retry_after == pytest.approx(120)
    assert sleeps.calls == [] and server.submits == 1


def test_malformed_json_is_a_clear_protocol_error(server: FakeHiggsServer) -> None:
    server.script("submit", Scripted(raw=b"<html>Bad Gateway</html>"))
    with make_client(server, max_attempts=1) as c, pytest.raises(HiggsProtocolError, match="not JSON"):
        _image(c)


def test_a_redirect_is_not_followed_with_the_key(server: FakeHiggsServer, client: HiggsClient) -> None:
    server.script("submit", Scripted(status=301, body={}, headers={"Location": "https://elsewhere.example/x"}))
    with pytest.raises(HiggsProtocolError, match="HIGGS_BASE_URL") as info:
        _image(client)
    assert not info.value.retryable and server.submits == 1


# ---- idempotency across lost replies ----------------------------------------------------------------
def test_dropped_connection_after_accept_resubmits_and_charges_once(server: FakeHiggsServer,
                                                                    client: HiggsClient) -> None:
    server.script("submit", Scripted.drop(process=True))
    sub = _image(client)
    assert client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).kind == "completed"
    assert server.submits == 2 and server.created_requests == 1
    assert server.charged_requests == 1 and sub.request_id == server.requests[0].request_id


def test_timeout_after_accept_resubmits_and_charges_once(server: FakeHiggsServer) -> None:
    server.script("submit", Scripted.hang(3.0, process=True))
    with make_client(server, timeout_s=0.5) as c:
        sub = _image(c)
        assert c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).kind == "completed"
    assert server.submits == 2 and server.created_requests == 1 and server.charged_requests == 1


def test_thirty_percent_random_faults_still_charge_once_per_key() -> None:
    faults: dict[str, Any] = {"concurrency_rate": 0.06, "rate_limit_rate": 0.06, "retry_after_s": 0.05,
              "server_error_rate": 0.08, "timeout_rate": 0.05, "hang_s": 2.0, "drop_rate": 0.05}
    with FakeHiggsServer(latency_s=0.1, seed=7, **faults) as srv, \
            make_client(srv, timeout_s=0.5, max_attempts=8) as c:
        def job(i: int) -> str:
            sub = _image(c, key=f"job-{i}", prompt=f"shot {i}")
            return c.wait(sub.request_id, status_url=sub.status_url, deadline_s=10).kind

        with ThreadPoolExecutor(4) as pool:
            kinds = list(pool.map(job, range(12)))
        assert kinds == ["completed"] * 12
        assert sum(srv.state.faults.values()) > 0
        assert srv.charged_requests == 12
        assert max(srv.charges_by_key().values()) == 1


# ---- cancel -----------------------------------------------------------------------------------------
def test_cancel_while_queued_ends_canceled_uncharged() -> None:
    with FakeHiggsServer(latency_s=5, queue_s=5) as srv, make_client(srv) as c:
        sub = _image(c)
        assert c.cancel(sub.request_id, cancel_url=sub.cancel_url) is True
        outcome = c.wait(sub.request_id, status_url=sub.status_url, deadline_s=2)
        assert outcome.kind == "canceled" and outcome.polls == 1
        assert srv.charged_requests == 0


def test_cancel_once_running_is_refused_and_the_render_finishes() -> None:
    with FakeHiggsServer(latency_s=0.3, queue_s=0) as srv, make_client(srv) as c:
        sub = _image(c)
        assert c.cancel(sub.request_id, cancel_url=sub.cancel_url) is False
        assert c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).kind == "completed"


# ---- upload and download ----------------------------------------------------------------------------
def test_upload_then_use_the_public_url(server: FakeHiggsServer, client: HiggsClient) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 9), (200, 10, 10)).save(buf, format="PNG")
    public_url = client.upload_image(buf.getvalue(), "image/png")
    assert client.download(public_url, max_bytes=10_000) == (buf.getvalue(), "image/png")
    assert server.state.keyed_downloads == 0  # neither the PUT nor the GET carried the key


def test_download_over_the_cap_stops(server: FakeHiggsServer, client: HiggsClient) -> None:
    sub = _image(client)
    url = client.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).urls[0]
    with pytest.raises(HiggsDownloadError, match="cap") as info:
        client.download(url, max_bytes=100)
    assert not info.value.retryable


def test_an_expired_output_is_a_final_download_error(server: FakeHiggsServer, client: HiggsClient) -> None:
    with pytest.raises(HiggsDownloadError, match="expired") as info:
        client.download(f"{server.base_url}/outputs/no-such-request/0.png", max_bytes=1000)
    assert info.value.status_code == 404 and not info.value.retryable


def test_download_stops_streaming_past_the_cap_without_a_length() -> None:
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(10_000):
            produced.append(i)
            yield b"x" * 1024

    transport = httpx.MockTransport(lambda req: httpx.Response(200, headers={"Content-Type": "image/png"},
                                                               content=endless()))
    cdn = DownloadPolicy(allowed_hosts=("cdn.example",), resolver=lambda host, port: ["93.184.216.34"])
    client = HiggsClient(base_url="https://api.example", key_id="id", key_secret="s", transport=transport,
                         download_policy=cdn)
    with client, pytest.raises(HiggsDownloadError, match="cap"):
        client.download("https://cdn.example/big.png", max_bytes=10 * 1024)
    assert len(produced) < 20  # aborted, not read to the end


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://cdn.example/a.png", "javascript:alert(1)"])
def test_download_refuses_other_schemes(client: HiggsClient, url: str) -> None:
    with pytest.raises(HiggsDownloadError, match="only http and https") as info:
        client.download(url, max_bytes=1000)
    assert not info.value.retryable


def test_truncated_download_fails_cleanly(server: FakeHiggsServer) -> None:
    with make_client(server, max_attempts=2) as c:
        sub = _image(c)
        url = c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5).urls[0]
        server.script("output", Scripted(action="truncate", raw=b"\x89PNG" + b"0" * 400,
                                         headers={"Content-Type": "image/png"}),
                      Scripted(action="truncate", raw=b"\x89PNG" + b"0" * 400,
                               headers={"Content-Type": "image/png"}))
        with pytest.raises(HiggsDownloadError, match="failed"):
            c.download(url, max_bytes=10_000)


# ---- secrets ----------------------------------------------------------------------------------------
def test_the_key_secret_never_reaches_logs_or_messages(server: FakeHiggsServer,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    secret = server.credentials[1]
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with make_client(server) as c:
            server.script("submit", Scripted.error(429, "full", retry_after=0.01), Scripted.drop(process=True))
            sub = _image(c)
            c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5)
            errors.append(repr(c))
        with make_client(server, key_secret="another-" + secret) as bad:
            try:
                _image(bad)
            except HiggsAuthError as exc:
                errors.append(str(exc))
    assert "Higgs POST" in caplog.text and "correlation" in caplog.text
    assert secret not in caplog.text
    assert all(secret not in e for e in errors)


def test_a_short_key_does_not_rewrite_replies_before_they_are_read(caplog: pytest.LogCaptureFixture) -> None:
    # With the key "a:b" every "b" of a reply used to become "***" before parsing ("object" -> "o***ject"), so
    # no reply parsed and every job failed. The reply is read as sent; only what is shown or logged is masked.
    with FakeHiggsServer(latency_s=0.05, key_id="a", key_secret="b") as srv, make_client(srv) as c:
        with caplog.at_level(logging.DEBUG):
            sub = _image(c, prompt="a bamboo boat on a bright blue bay")
            outcome = c.wait(sub.request_id, status_url=sub.status_url, deadline_s=5)
            assert outcome.kind == "completed", outcome.error
            data, content_type = c.download(outcome.urls[0], max_bytes=1_000_000)
            assert content_type == "image/png" and Image.open(io.BytesIO(data)).size == (320, 180)
            srv.script("submit", Scripted.error(400, "bad body object; sent Authorization: Key a:b"))
            with pytest.raises(HiggsRejectedError) as err:
                _image(c, key="key-2")
    message = str(err.value)
    assert "object" in message and "Key ***" in message  # the key masked, the words around it left whole
    assert "a:b" not in message and "a:b" not in caplog.text
