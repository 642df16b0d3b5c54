"""Browser tabs without a browser: Streamlit websocket clients for bench/load.py, run in their own process.

    PYTHONPATH=. .venv/bin/python -m bench.studio_client --url http://127.0.0.1:8501 --script 1 --video 2 \
        --sessions 20 --think 3 --out visits.json            # browse until "stop" arrives on stdin
    ... --sessions 1 --think 0.1 --visits 60 --out idle.json  # a fixed number of page runs

Each session speaks the studio's browser protocol on `/_stcore/stream`, as the Streamlit frontend does: it
opens `/?script=..&video=..` (a `rerun_script` BackMsg with that query string), then takes steps, one script
run each: open a page from the navigation (a rerun with the page's script hash) or pick another video in the
sidebar (a rerun of the current page with the Video selectbox's new value in the widget states). A step's time
is from sending its BackMsg to the `script_finished` ForwardMsg that ends the run; the step failed when that
status is not a normal finish, an exception or an error alert was drawn, or no answer came in `--timeout` s.
Like the browser, a session keeps the messages the server marked cacheable and lists their hashes in every
rerun (the server then sends references instead of repeating them), fetches each new `/media/` image a page
shows, and reruns the fragments the server asked to auto-rerun (`st.fragment(run_every=...)`: the Images and
Jobs pages poll the job table every 2 s, and rerun the whole page when it changed) for as long as the page that
drew them is open. Those refreshes are recorded as action "refresh": load on the server, not page runs the
producer asked for (a click waits for a refresh in flight, and that wait is part of its time).

Prints `ready` on stdout once every session has opened; writes the steps and this process's CPU seconds as JSON to
`--out` when done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode, urlparse

import httpx
import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

PAGES = ("library", "storyboard", "prompts", "images", "jobs")
# Half the steps open a page, half pick a video on the page already open: every page gets the same share of
# runs, and each page is drawn for many videos.
VIDEO_STEP_SHARE = 0.5
MEDIA_FETCHES_PER_TAB = 6  # a browser's connections per host over HTTP/1.1


@dataclass
class Step:
    page: str
    action: str  # "open" (navigation), "video" (sidebar pick) or "refresh" (a fragment's auto-rerun)
    seconds: float
    started: float  # time.monotonic(), comparable across processes on one machine
    failed: str | None = None


@dataclass
class Run:
    """What one script run sent back."""

    status: int | None = None
    problems: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)


class Tab:
    """One producer's browser tab: one websocket session, its pages, its video picker and its message cache."""

    def __init__(self, base_url: str, script: int, video: int, rng: random.Random, timeout: float,
                 media: httpx.AsyncClient | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.query = urlencode({"script": script, "video": video})
        self.rng = rng
        self.timeout = timeout
        self.media = media
        self.ws: websockets.ClientConnection | None = None
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page = "library"
        self.video_picker: tuple[str, list[str]] | None = None  # widget id, option labels
        self.cache: dict[str, ForwardMsg] = {}
        self.fetched: set[str] = set()
        self.fetching: set[asyncio.Task[None]] = set()
        self.gate = asyncio.Semaphore(MEDIA_FETCHES_PER_TAB)
        self.busy = asyncio.Lock()  # one run at a time per tab, as the browser waits for its script to finish
        self.auto: dict[str, tuple[float, float]] = {}  # fragment id -> (interval s, next due, monotonic)
        self.refreshes: list[Step] = []
        self.refresher: asyncio.Task[None] | None = None

    async def open(self) -> Step:
        parsed = urlparse(self.base_url)
        self.ws = await websockets.connect(
            f"ws://{parsed.netloc}/_stcore/stream", subprotocols=["streamlit"],  # type: ignore[list-item]
            max_size=None, open_timeout=self.timeout, ping_interval=None)
        opened = await self._step("library", "open", self._client_state())
        self.refresher = asyncio.create_task(self._refresh())
        return opened

    async def close(self) -> None:
        for task in [*self.fetching, *([self.refresher] if self.refresher else [])]:
            task.cancel()
        if self.ws is not None:
            await self.ws.close()

    async def step(self) -> Step:
        if self.video_picker and self.rng.random() < VIDEO_STEP_SHARE:
            widget_id, labels = self.video_picker
            state = self._client_state(self.pages.get(self.page, ""))
            widget = state.rerun_script.widget_states.widgets.add()
            widget.id = widget_id
            widget.string_value = self.rng.choice(labels)
            return await self._step(self.page, "video", state)
        page = self.rng.choice(PAGES)
        return await self.open_page(page)

    async def open_page(self, page: str) -> Step:
        if page not in self.pages:
            return Step(page, "open", 0.0, time.monotonic(), f"the navigation has no page {page!r}")
        return await self._step(page, "open", self._client_state(self.pages[page]))

    def _client_state(self, page_hash: str = "") -> BackMsg:
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = page_hash
        msg.rerun_script.cached_message_hashes.extend(sorted(self.cache))
        return msg

    async def _refresh(self) -> None:
        """The frontend's auto-rerun timers: each registered fragment reruns every `interval` s on its page."""
        while True:
            due = min((next_at for _, next_at in self.auto.values()), default=None)
            if due is None or due > time.monotonic():
                await asyncio.sleep(0.1 if due is None else min(0.1, due - time.monotonic()))
                continue
            async with self.busy:
                now = time.monotonic()
                ready = [fid for fid, (_, next_at) in self.auto.items() if next_at <= now]
                if not ready:
                    continue  # a page run in between dropped or re-registered the fragments
                fid = ready[0]
                interval, _ = self.auto[fid]
                self.auto[fid] = (interval, now + interval)
                msg = self._client_state(self.pages.get(self.page, ""))
                msg.rerun_script.fragment_id = fid
                msg.rerun_script.is_auto_rerun = True
                self.refreshes.append(await self._run(self.page, "refresh", msg, now))

    async def _step(self, page: str, action: str, msg: BackMsg) -> Step:
        began = time.monotonic()  # the click: waiting for a refresh in flight is part of what the producer sees
        async with self.busy:
            self.auto.clear()  # a full run: the page drawn now registers its own fragments
            return await self._run(page, action, msg, began)

    async def _run(self, page: str, action: str, msg: BackMsg, began: float) -> Step:
        assert self.ws is not None
        try:
            await self.ws.send(msg.SerializeToString())
            run = await asyncio.wait_for(self._until_finished(), self.timeout)
        except Exception as err:  # noqa: BLE001 - a failed run is counted and reported, not fatal to the bench
            return Step(page, action, time.monotonic() - began, began, f"{type(err).__name__}: {err}")
        seconds = time.monotonic() - began
        self.page = page
        for url in run.media:
            if url not in self.fetched and self.media is not None:
                self.fetched.add(url)
                task = asyncio.create_task(self._fetch(url))
                self.fetching.add(task)
                task.add_done_callback(self.fetching.discard)
        failed = None
        if run.status not in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
            failed = f"script_finished status {run.status}"
        if run.problems:
            failed = "; ".join(run.problems)[:300]
        return Step(page, action, seconds, began, failed)

    async def _until_finished(self) -> Run:
        assert self.ws is not None
        run = Run()
        while True:
            data = await self.ws.recv()
            msg = ForwardMsg()
            msg.ParseFromString(data)  # type: ignore[arg-type]
            if msg.WhichOneof("type") == "ref_hash" and msg.ref_hash in self.cache:
                msg = self.cache[msg.ref_hash]  # a message this tab was sent before, as the browser replays it
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the page asked for a rerun: the producer waits for that one too
                run.status = msg.script_finished
                return run
            if msg.metadata.cacheable and msg.hash:
                self.cache[msg.hash] = msg
            if kind == "auto_rerun":
                fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
                if fid not in self.auto:
                    self.auto[fid] = (interval, time.monotonic() + interval)
            elif kind == "stop_auto_rerun":
                for fid in msg.stop_auto_rerun.fragment_ids:
                    self.auto.pop(fid, None)
            elif kind == "page_info_changed":  # the studio mirrors the chosen ids in the address bar
                self.query = msg.page_info_changed.query_string
            elif kind == "navigation":
                self.pages = {p.url_pathname or "library": p.page_script_hash for p in msg.navigation.app_pages}
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._read_element(msg, run)

    def _read_element(self, msg: ForwardMsg, run: Run) -> None:
        el = msg.delta.new_element
        kind = el.WhichOneof("type")
        if kind == "exception":
            run.problems.append(f"{el.exception.type}: {el.exception.message}")
        elif kind == "alert" and el.alert.format == Alert.ERROR:
            run.problems.append(f"error: {el.alert.body}")
        elif kind == "selectbox" and el.selectbox.label == "Video":
            self.video_picker = (el.selectbox.id, list(el.selectbox.options))
        elif kind == "imgs":
            run.media.extend(img.url for img in el.imgs.imgs if img.url.startswith("/media/"))

    async def _fetch(self, url: str) -> None:
        assert self.media is not None
        async with self.gate:
            try:
                await self.media.get(url)
            except httpx.HTTPError:
                pass  # an image that does not load is the browser's problem, not a page run's


async def browse(args: argparse.Namespace, stop: asyncio.Event) -> list[Step]:
    steps: list[Step] = []
    async with httpx.AsyncClient(base_url=args.url, timeout=args.timeout,
                                 limits=httpx.Limits(max_connections=MEDIA_FETCHES_PER_TAB * args.sessions)) as media:
        tabs = [Tab(args.url, args.script, args.video, random.Random(args.seed + n), args.timeout,
                    media if args.fetch_media else None) for n in range(args.sessions)]
        opened = await asyncio.gather(*(tab.open() for tab in tabs))
        broken = [s.failed for s in opened if s.failed]
        if broken:
            print(f"failed to open: {broken[0]}", flush=True)
            raise SystemExit(1)
        for tab in tabs:  # each tab has drawn every page once (imports, compiled pages, caches) before timing
            for page in PAGES if args.warm else ():
                await tab.open_page(page)
        print("ready", flush=True)

        async def walk(tab: Tab) -> None:
            done = 0
            while (args.visits and done < args.visits) or (not args.visits and (not stop.is_set()
                                                                                 or done < args.min_visits)):
                if args.think:
                    await asyncio.sleep(tab.rng.uniform(0, 2 * args.think))
                steps.append(await tab.step())
                done += 1

        await asyncio.gather(*(walk(tab) for tab in tabs))
        await asyncio.gather(*(tab.close() for tab in tabs))
    return steps + [r for tab in tabs for r in tab.refreshes]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--script", type=int, required=True, help="the script id the tabs open (?script=)")
    p.add_argument("--video", type=int, required=True, help="the video id the tabs open (?video=)")
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--think", type=float, default=3.0, help="mean pause between a tab's steps, seconds")
    p.add_argument("--visits", type=int, default=0, help="steps per tab, then stop (0: until 'stop' on stdin)")
    p.add_argument("--min-visits", type=int, default=3, help="steps per tab at least when stopped by stdin")
    p.add_argument("--warm", action="store_true", help="open every page once per tab before timing")
    p.add_argument("--no-media", dest="fetch_media", action="store_false", help="do not fetch /media/ images")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a run may take before it counts failed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    async def run() -> list[Step]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wait_for_stop() -> None:  # any line, or the parent closing the pipe, ends the browsing
            sys.stdin.readline()
            loop.call_soon_threadsafe(stop.set)

        if not args.visits:
            threading.Thread(target=wait_for_stop, daemon=True).start()
        return await browse(args, stop)

    began = time.monotonic()
    steps = asyncio.run(run())
    with open(args.out, "w") as out:  # the CPU this process used: time the machine did not give the studio
        json.dump({"steps": [asdict(s) for s in steps], "cpu_seconds": time.process_time(),
                   "wall_seconds": time.monotonic() - began}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
