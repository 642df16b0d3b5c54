"""The server hands elements to the browser with one wake-up per flush, and never leaves a message unsent."""

from __future__ import annotations

import argparse
import asyncio
import threading
from pathlib import Path

import pytest

from studio.server_tuning import coalesced_wakeup


class Server:
    """Streamlit's send loop in miniature: script threads queue messages and call `enqueued`; the event loop, once
    woken, flushes everything queued so far."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: list[int] = []
        self.sent: list[int] = []
        self.lock = threading.Lock()
        self.scheduled = 0
        self.need_send = asyncio.Event()

        def call_soon_threadsafe(fn):  # type: ignore[no-untyped-def]
            self.scheduled += 1
            return loop.call_soon_threadsafe(fn)

        self.enqueued = coalesced_wakeup(call_soon_threadsafe, self.need_send.set)

    def queue_message(self, n: int) -> None:  # AppSession: queue, then the callback
        with self.lock:
            self.queue.append(n)
        self.enqueued()

    async def flush_forever(self) -> None:
        while True:
            await self.need_send.wait()
            self.need_send.clear()
            with self.lock:
                batch, self.queue = self.queue, []
            self.sent.extend(batch)
            await asyncio.sleep(0)


def test_many_script_threads_every_message_is_sent_with_few_wakeups() -> None:
    async def scenario() -> Server:
        server = Server(asyncio.get_running_loop())
        flusher = asyncio.create_task(server.flush_forever())

        def script(base: int) -> None:  # a page run: 500 elements, now and then a pause (a database read)
            for i in range(500):
                server.queue_message(base + i)
                if i % 50 == 0:
                    threading.Event().wait(0.001)

        threads = [threading.Thread(target=script, args=(t * 1000,)) for t in range(8)]
        for t in threads:
            t.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        for _ in range(100):  # the last wake-up may still be on its way
            if len(server.sent) == 8 * 500:
                break
            await asyncio.sleep(0.01)
        flusher.cancel()
        return server

    server = asyncio.run(scenario())
    assert sorted(server.sent) == sorted(t * 1000 + i for t in range(8) for i in range(500))  # nothing lost
    assert not server.queue
    assert server.scheduled < 8 * 500 / 2, f"{server.scheduled} wake-ups for 4000 messages"


def test_a_message_queued_after_the_wakeup_ran_gets_its_own() -> None:
    async def scenario() -> Server:
        server = Server(asyncio.get_running_loop())
        flusher = asyncio.create_task(server.flush_forever())
        server.queue_message(1)
        server.queue_message(2)  # the first wake-up has not run: no second one
        assert server.scheduled == 1
        await asyncio.sleep(0.05)
        assert server.sent == [1, 2]
        server.queue_message(3)  # the loop has been woken and flushed: this one needs a new wake-up
        assert server.scheduled == 2
        await asyncio.sleep(0.05)
        flusher.cancel()
        return server

    assert asyncio.run(scenario()).sent == [1, 2, 3]


@pytest.mark.slow
def test_tabs_drawing_at_once_receive_whole_pages_from_a_running_studio(tmp_path: Path) -> None:
    """Against `streamlit run`: four tabs open pages at the same time; every run reaches its end (a lost wake-up
    leaves a page's last messages unsent and the run never finishes) with no error on the page."""
    from bench.load import build_script
    from bench.studio_client import PAGES, browse
    from core.runtime import open_runtime
    from tests.conftest import make_test_settings
    from tests.e2e.harness import ROOT, running_studio, studio_env

    data = tmp_path / "data"
    env = studio_env(data)
    rt = open_runtime(make_test_settings(data, env["DATABASE_URL"], refiner="offline", renderer="offline"))
    file_id, video_ids, _ = build_script(rt, words=3000, videos=3)
    rt.engine.dispose()
    with running_studio(env, cwd=ROOT, log=tmp_path / "studio.log") as url:
        args = argparse.Namespace(url=url, script=file_id, video=video_ids[0], sessions=4, think=0.0,
                                  visits=2 * len(PAGES), min_visits=0, warm=True, fetch_media=True, timeout=30.0,
                                  seed=7)
        steps = asyncio.run(browse(args, asyncio.Event()))
    assert len(steps) >= 4 * 2 * len(PAGES)
    assert not [s for s in steps if s.failed], [s.failed for s in steps if s.failed][:3]
    assert "laid out differently" not in (tmp_path / "studio.log").read_text()  # the coalescing was installed
