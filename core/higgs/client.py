"""`HiggsClient`: submit, poll, cancel, upload and download against the Higgs (Higgsfield) API, on httpx.

Policy lives here; the wire format is in `types.py`, error mapping in `errors.py`, bodies in `schema.py`.
Every submit carries an `Idempotency-Key`; ambiguous failures (timeouts, dropped connections, 5xx, 429,
423/503, the 400 concurrency limit) are resubmitted with the same key, so the service charges once. Retries
wait `Retry-After` when given, else exponential backoff with jitter; a wait longer than `max_retry_wait_s` is
not slept in-process but raised (retryable, with `retry_after`) so a job queue can reschedule the job.
The API key goes only to the configured host: never to output URLs, upload URLs or foreign status URLs.
Output files are fetched through `core.netguard` (allowed hosts, https, no private addresses, redirects checked
hop by hop, a size cap) on a client of their own that never carries the key.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from core import __version__
from core.errors import ProviderError
from core.higgs.errors import (
    HiggsDownloadError,
    HiggsError,
    HiggsNetworkError,
    HiggsNotFoundError,
    HiggsProtocolError,
    HiggsRejectedError,
    error_for_response,
    format_detail,
)
from core.higgs.types import (
    CANCELED,
    COMPLETED,
    FAILED,
    NSFW,
    Estimate,
    Outcome,
    PollSchedule,
    RemoteStatus,
    Submission,
    parse_status,
)
from core.netguard import DownloadError, DownloadPolicy, DownloadRefused, fetch, guarded_client
from core.settings import Settings

log = logging.getLogger("core.higgs")

DEFAULT_USER_AGENT = f"course-visual-studio/{__version__}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _loggable(url: str) -> str:
    """A URL without user info or query: CDN and upload URLs carry signatures that do not belong in logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _schema_of(item: dict[str, Any]) -> dict[str, Any]:
    """A listed model's input JSON Schema, under whichever name the host uses (a JSON string is parsed); {}."""
    for key in ("input_schema", "inputSchema", "schema"):
        schema = item.get(key)
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                continue
        if isinstance(schema, dict) and schema:
            return dict(schema)
    return {}


class HiggsClient:
    """A small synchronous Higgs client. Thread-safe: the worker shares one instance across its threads."""

    def __init__(self, *, base_url: str, key_id: str, key_secret: str, timeout_s: float = 30.0,
                 transport: httpx.BaseTransport | None = None, user_agent: str = DEFAULT_USER_AGENT,
                 max_attempts: int = 5, backoff_base_s: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 poll: PollSchedule | None = None, clock: Callable[[], float] = time.monotonic,
                 max_retry_wait_s: float = 60.0, backoff_max_s: float = 30.0,
                 rng: random.Random | None = None, download_policy: DownloadPolicy | None = None) -> None:
        if not key_id or not key_secret:
            raise ProviderError("Higgs credentials are missing: set HF_KEY (\"id:secret\") or HF_API_KEY and "
                                "HF_API_SECRET.", category="auth")
        scheme, _ = _origin(base_url)
        if scheme not in ("http", "https"):
            raise ProviderError(f"The Higgs base URL must be http(s), got {base_url!r}.", category="config")
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.poll = poll or PollSchedule()
        self._auth = f"Key {key_id}:{key_secret}"
        # Longest first: "id:secret" before the bare secret, so the id is not left next to a mask.
        self._secrets = (f"{key_id}:{key_secret}", key_secret)
        self._secret_re = re.compile("|".join(rf"(?<![\w-]){re.escape(x)}(?![\w-])" for x in self._secrets))
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._max_retry_wait_s = max_retry_wait_s
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._http = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout_s),
                                  headers={"User-Agent": user_agent}, follow_redirects=False)
        # Without a policy only the API host itself, over https, on a public address: the strict default.
        api_host = urlsplit(self.base_url).hostname or ""
        self.download_policy = download_policy or DownloadPolicy(allowed_hosts=(api_host.lower(),))
        self._downloads = guarded_client(self.download_policy, transport=transport, timeout_s=timeout_s,
                                         user_agent=user_agent, what="The output file URL")
        # Upload URLs come from the API's reply, so they are as untrusted as output URLs: the same policy.
        self._uploads = guarded_client(self.download_policy, transport=transport, timeout_s=timeout_s,
                                       user_agent=user_agent, what="The upload URL")

    def __repr__(self) -> str:  # never the key
        return f"HiggsClient(base_url={self.base_url!r})"

    # ---- plumbing -------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _api_url(self, given: str | None, fallback_path: str) -> str:
        """Follow a URL the API returned, unless it points at another host: the key must not leave ours."""
        if not given:
            return self._url(fallback_path)
        absolute = urljoin(self.base_url + "/", given)
        if _origin(absolute) == _origin(self.base_url):
            return absolute
        log.warning("Higgs returned a URL on another host (%s); using %s instead so the key stays on our host",
                    _loggable(absolute), _loggable(self._url(fallback_path)))
        return self._url(fallback_path)

    def _send_once(self, method: str, url: str, *, action: str, json_body: Any = None,
                   params: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> tuple[Any, httpx.Response]:
        """One request with the key. Returns the parsed JSON body ({} when empty) and the response."""
        all_headers = {"Authorization": self._auth, "Accept": "application/json", **(headers or {})}
        try:
            resp = self._http.request(method, url, json=json_body, params=params, headers=all_headers)
        except httpx.TimeoutException as exc:
            raise HiggsNetworkError(f"Higgs {action}: no answer within {self.timeout_s:g} s "
                                    f"({type(exc).__name__}); trying again is safe.", retryable=True) from exc
        except httpx.TransportError as exc:
            raise HiggsNetworkError(f"Higgs {action}: could not talk to {urlsplit(url).hostname} "
                                    f"({type(exc).__name__}: {exc}); trying again is safe.",
                                    retryable=True) from exc
        correlation = resp.headers.get("x-correlation-id")
        # Parsed as it came: masking the key first rewrote replies themselves (with a short secret "b", every
        # "object" became "o***ject" and no reply parsed). Only what is shown or logged is masked, below.
        text = resp.text
        try:
            data: Any = json.loads(text) if text.strip() else {}
        except ValueError:
            data = None
        request_id = data.get("request_id") if isinstance(data, dict) else None
        log.info("Higgs %s %s -> %s (request %s, correlation %s)", method, _loggable(url), resp.status_code,
                 request_id or "-", correlation or "-")
        if 300 <= resp.status_code < 400:
            # Never followed: a redirect would carry the key to wherever it points.
            target = _loggable(resp.headers.get("location", "?"))
            raise HiggsProtocolError(f"Higgs {action}: the service redirected ({resp.status_code}) to {target}. "
                                     "Set HIGGS_BASE_URL to the address the API really answers on.",
                                     status_code=resp.status_code, correlation_id=correlation)
        if resp.status_code >= 400:
            # A gateway may echo the Authorization header into an error body, and the detail is shown.
            detail = self._redact_value(data.get("detail", data) if isinstance(data, dict)
                                        else (text.strip()[:300] or None))
            raise error_for_response(resp.status_code, detail, resp.headers, action=action,
                                     user_agent=self.user_agent, correlation_id=correlation)
        if data is None:
            kind = resp.headers.get("content-type", "unknown type")
            raise HiggsProtocolError(f"Higgs {action}: the reply ({resp.status_code}, {kind}) is not JSON: "
                                     f"{self._redact(text.strip()[:120])!r}. The service or a proxy may be misbehaving.",
                                     retryable=True, status_code=resp.status_code, correlation_id=correlation)
        return data, resp

    def _redact(self, text: str) -> str:
        """`text` with the key masked: what a reply says ends up in job errors, pages and logs.

        The key is masked where it stands as a token of its own (as an echoed header has it), not inside other
        words: a short secret such as "b" must not turn "object" into "o***ject" in a message.
        """
        return self._secret_re.sub("***", text)

    def _redact_value(self, value: Any) -> Any:
        """A parsed reply (or part of one) with the key masked in every string, for messages and logs."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list):
            return [self._redact_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self._redact_value(v) for k, v in value.items()}
        return value

    def _retry_wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after: float | None = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        delay = min(self._backoff_max_s, self._backoff_base_s * 2.0 ** (state.attempt_number - 1))
        return delay * (0.5 + 0.5 * self._rng.random())

    def _retry_stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.max_attempts:
            return True
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        # A long Retry-After is the job queue's business (it sets not_before); do not block a thread on it.
        return retry_after is not None and retry_after > self._max_retry_wait_s

    def _retrying(self, action: str) -> Retrying:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("Higgs %s attempt %d/%d failed (%s, correlation %s); retrying in %.2f s", action,
                        state.attempt_number, self.max_attempts, type(exc).__name__,
                        getattr(exc, "correlation_id", None) or "-", state.upcoming_sleep)

        return Retrying(retry=retry_if_exception(lambda e: isinstance(e, HiggsError) and e.retryable),
                        stop=self._retry_stop, wait=self._retry_wait, sleep=self._sleep,
                        before_sleep=before_sleep, reraise=True)

    def _call(self, method: str, url: str, *, action: str, **kw: Any) -> tuple[Any, httpx.Response]:
        for attempt in self._retrying(action):
            with attempt:
                return self._send_once(method, url, action=action, **kw)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    # ---- generation ------------------------------------------------------------------------------
    def submit(self, slug: str, body: dict[str, Any], *, idempotency_key: str) -> Submission:
        """POST a generation. Retries ambiguous failures with the same key, so it is charged at most once."""
        if not idempotency_key:
            raise ValueError("submit needs an idempotency key stored with the job before the POST")
        data, resp = self._call("POST", self._url(slug), action=f"submit to {slug}", json_body=body,
                                headers={"Idempotency-Key": idempotency_key})
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise HiggsProtocolError(f"Higgs accepted the submit to {slug} but returned no request id: "
                                     f"{self._redact(str(data))[:200]}", status_code=resp.status_code,
                                     correlation_id=resp.headers.get("x-correlation-id"))
        log.info("Higgs submitted %s as request %s (idempotency key %s)", slug, request_id, idempotency_key)
        return Submission(request_id=request_id, status_url=data.get("status_url"),
                          cancel_url=data.get("cancel_url"), status=str(data.get("status") or "queued"),
                          correlation_id=resp.headers.get("x-correlation-id"), raw=data)

    def _status_once(self, request_id: str, status_url: str | None) -> RemoteStatus:
        url = self._api_url(status_url, f"requests/{request_id}/status")
        data, _ = self._send_once("GET", url, action=f"status of request {request_id}")
        if not isinstance(data, dict):
            raise HiggsProtocolError(f"Higgs status of request {request_id}: expected an object, got "
                                     f"{self._redact(str(data))[:120]!r}.", retryable=True)
        status = parse_status(data, request_id=request_id)
        if status.error:  # a failed render's reason becomes the job's error, shown on the page
            status = replace(status, error=self._redact(status.error))
        return status

    def status(self, request_id: str, *, status_url: str | None = None) -> RemoteStatus:
        """One status read (retried on network errors and 5xx). Follows `status_url` when given."""
        for attempt in self._retrying(f"status of request {request_id}"):
            with attempt:
                return self._status_once(request_id, status_url)
        raise AssertionError("unreachable")  # pragma: no cover

    def wait(self, request_id: str, *, status_url: str | None = None, deadline_s: float,
             on_poll: Callable[[RemoteStatus], None] | None = None,
             schedule: PollSchedule | None = None) -> Outcome:
        """Poll until a terminal status or `deadline_s` seconds from now (then `timed_out`).

        Polls follow `schedule` (default: the client's, 2 s ×1.5 up to 10 s with jitter); the first poll comes
        after the initial delay. Network errors and 5xx on a poll count as "still running". `on_poll` sees
        every status read (e.g. to renew a job lease); an exception raised there stops the wait.
        """
        delays = (schedule or self.poll).delays(self._rng)
        end = self._clock() + deadline_s
        polls = 0
        last: RemoteStatus | None = None
        last_error: str | None = None
        while True:
            remaining = end - self._clock()
            if remaining <= 0:
                said = last.status if last else "no status read"
                why = f"; last error: {last_error}" if last_error else ""
                return Outcome("timed_out", request_id, polls=polls, last_status=last,
                               error=f"No result from Higgs within {deadline_s:g} s (last status: {said}{why}). "
                                     "The render may still finish; retry the job to resume waiting.")
            self._sleep(min(next(delays), remaining))
            try:
                current = self._status_once(request_id, status_url)
            except HiggsError as exc:
                if not exc.retryable:
                    raise
                polls += 1
                last_error = str(exc)
                log.warning("Higgs poll of request %s failed, will poll again: %s", request_id, exc)
                continue
            polls += 1
            last = current
            if on_poll is not None:
                on_poll(current)
            if current.is_terminal:
                return self._outcome(current, polls)

    @staticmethod
    def _outcome(st: RemoteStatus, polls: int) -> Outcome:
        common: dict[str, Any] = {"polls": polls, "expires_at": st.expires_at, "last_status": st}
        if st.status == COMPLETED:
            if st.urls:
                return Outcome("completed", st.request_id, urls=st.urls, **common)
            return Outcome("failed", st.request_id, error="Higgs reported the render as completed but returned "
                           "no output file.", **common)
        if st.status == FAILED:
            return Outcome("failed", st.request_id, error=f"Higgs could not render this: "
                           f"{st.error or 'no reason given'}.", **common)
        if st.status == NSFW:
            return Outcome("nsfw", st.request_id, error="Blocked by Higgs's content moderation (nsfw). Edit the "
                           "prompt and render again; nothing was charged.", **common)
        if st.status == CANCELED:
            return Outcome("canceled", st.request_id, error="The request was canceled.", **common)
        raise AssertionError(f"not a terminal status: {st.status}")  # pragma: no cover

    def cancel(self, request_id: str, *, cancel_url: str | None = None) -> bool:
        """Cancel a queued request: True when canceled (202), False when it already started (400)."""
        url = self._api_url(cancel_url, f"requests/{request_id}/cancel")
        try:
            self._call("POST", url, action=f"cancel of request {request_id}")
        except HiggsRejectedError as exc:
            if exc.status_code == 400:
                log.info("Higgs request %s is past the queue; cancel refused: %s", request_id, exc)
                return False
            raise
        return True

    # ---- files -----------------------------------------------------------------------------------
    def upload_image(self, data: bytes, content_type: str = "image/png") -> str:
        """Upload local bytes so a generation can use them as an image URL; returns the public URL."""
        reply, _ = self._call("POST", self._url("files/generate-upload-url"), action="upload URL request",
                              json_body={"content_type": content_type})
        upload_url = reply.get("upload_url") if isinstance(reply, dict) else None
        public_url = reply.get("public_url") if isinstance(reply, dict) else None
        if not isinstance(upload_url, str) or not isinstance(public_url, str):
            raise HiggsProtocolError(f"Higgs upload URL request: reply lacks upload_url/public_url: "
                                     f"{str(reply)[:200]}")
        self._check_upload_url(upload_url)
        given = reply.get("upload_headers")
        headers = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
        headers.setdefault("Content-Type", str(reply.get("content_type") or content_type))
        for attempt in self._retrying("image upload"):
            with attempt:
                self._put(upload_url, data, headers)
        log.info("Higgs upload of %d bytes done: %s", len(data), _loggable(public_url))
        return public_url

    def _check_upload_url(self, url: str) -> None:
        """The upload URL passes the download policy (https, an allowed host, public addresses only), or the
        upload is refused before a byte is sent: a hostile upstream must not make us PUT into our own network."""
        try:
            self.download_policy.check(url, what="The upload URL the Higgs API returned")
        except DownloadRefused as exc:
            raise HiggsError(f"Higgs image upload refused: {exc}", category="upload_refused") from exc
        except DownloadError as exc:  # the host could not be resolved: worth a retry
            raise HiggsNetworkError(f"Higgs image upload: {exc}", retryable=exc.retryable) from exc

    def _put(self, url: str, data: bytes, headers: Mapping[str, str]) -> None:
        """PUT to a pre-signed URL through the guarded client (every connection checked and pinned to the address
        checked; no redirects): its own headers, never the API key. What a host other than the API's answers is
        never repeated: only its status code reaches the job's error."""
        try:
            resp = self._uploads.put(url, content=data, headers=dict(headers))
        except DownloadRefused as exc:
            raise HiggsError(f"Higgs image upload refused: {exc}", category="upload_refused") from exc
        except DownloadError as exc:
            raise HiggsNetworkError(f"Higgs image upload: {exc}", retryable=exc.retryable) from exc
        except httpx.TransportError as exc:
            raise HiggsNetworkError(f"Higgs image upload: transfer failed ({type(exc).__name__}).",
                                    retryable=True) from exc
        if 300 <= resp.status_code < 400:
            raise HiggsError(f"Higgs image upload was redirected ({resp.status_code}); uploads do not follow "
                             "redirects.", category="upload_refused", status_code=resp.status_code)
        if resp.status_code >= 400:
            said = ""
            if (urlsplit(url).hostname or "").lower() == (urlsplit(self.base_url).hostname or "").lower():
                said = f": {self._redact(resp.text).strip()[:200]}"  # the API's own words, key masked
            raise HiggsError(f"Higgs image upload was refused (HTTP {resp.status_code} from "
                             f"{urlsplit(url).hostname}){said}",
                             category="upload", retryable=resp.status_code >= 500 or resp.status_code == 429,
                             status_code=resp.status_code)

    def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """Fetch an output file (no API key: it lives on a CDN), streamed and aborted past `max_bytes`.

        Only from URLs the download policy allows (see `core.netguard`); redirects are followed hop by hop under
        the same policy. Returns the bytes and the declared content type; the caller checks the bytes really are
        what it wants.
        """
        if _origin(url)[0] not in ("http", "https"):
            raise HiggsDownloadError(f"Refusing to download {url[:80]!r}: only http and https URLs are allowed.")
        for attempt in self._retrying("download"):
            with attempt:
                return self._download_once(url, max_bytes)
        raise AssertionError("unreachable")  # pragma: no cover

    def _download_once(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        shown = _loggable(url)
        try:
            got = fetch(url, self.download_policy, client=self._downloads, max_bytes=max_bytes,
                        what="The output file URL")
        except DownloadError as exc:
            message = str(exc)
            if exc.status_code is not None and exc.status_code >= 400:
                message = (f"Downloading {shown} failed ({exc.status_code}); the file may have expired "
                           "(outputs are kept about 7 days).")
            raise HiggsDownloadError(message, category=exc.category, retryable=exc.retryable,
                                     status_code=exc.status_code) from exc
        log.info("Higgs output downloaded: %s (%d bytes, %s)", _loggable(got.url), len(got.data), got.content_type)
        return got.data, got.content_type

    # ---- catalogue and prices --------------------------------------------------------------------
    def models(self) -> dict[str, dict[str, Any]]:
        """Slugs this account may use, each with its input JSON Schema ({} when none is published)."""
        data, _ = self._call("GET", self._url("models"), action="model list", params={"include_schema": "true"})
        items: Any = data
        if isinstance(data, dict):
            for key in ("models", "data", "items", "results"):
                if isinstance(data.get(key), list):
                    items = data[key]
                    break
            else:  # a mapping slug -> {input_schema}
                return {str(k): _schema_of(v) for k, v in data.items() if isinstance(v, dict)}
        if not isinstance(items, list):
            raise HiggsProtocolError(f"Higgs model list: unexpected reply {str(data)[:200]!r}")
        out: dict[str, dict[str, Any]] = {}
        for item in items:
            if isinstance(item, str):
                out[item] = {}
            elif isinstance(item, dict):
                slug = item.get("slug") or item.get("id") or item.get("model") or item.get("name")
                if isinstance(slug, str):
                    out[slug] = _schema_of(item)
        return out

    def estimate(self, slug: str, body: dict[str, Any]) -> Estimate | None:
        """Price a body without charging. None when the host offers no estimate for this model."""
        try:
            data, _ = self._call("POST", self._url(f"estimate/{slug}"), action=f"estimate for {slug}",
                                 json_body=body)
        except HiggsNotFoundError:
            return None
        except HiggsError as exc:
            if exc.status_code in (405, 501):
                return None
            raise
        if not isinstance(data, dict):
            return Estimate(credits=None, usd=None, note=format_detail(data), raw={"reply": data})
        credits, usd = _number(data.get("credits")), _number(data.get("usd"))
        note = None
        if credits is None or usd is None:
            described = data.get("pricing") or data.get("description") or data.get("message")
            note = format_detail(described) if described else None
        return Estimate(credits=credits, usd=usd, note=note, raw=data)

    # ---- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()
        self._downloads.close()
        self._uploads.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def client_from_settings(settings: Settings, **overrides: Any) -> HiggsClient:
    """A client for the configured host and credentials (`Settings.higgs_credentials`); kwargs override."""
    creds = settings.higgs_credentials
    if creds is None:
        raise ProviderError("No Higgs credentials: set HF_KEY (\"id:secret\") or HF_API_KEY and HF_API_SECRET, "
                            "or choose the offline renderer.", category="auth")
    kwargs: dict[str, Any] = {"base_url": settings.higgs_base_url, "key_id": creds[0], "key_secret": creds[1],
                              "timeout_s": settings.higgs_timeout_s,
                              "download_policy": DownloadPolicy.from_settings(settings)}
    kwargs.update(overrides)
    return HiggsClient(**kwargs)
