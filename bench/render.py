"""Benchmark: 120 image jobs against the local Higgs server (2 s per render), worker concurrency 8.

The ideal is ceil(jobs / concurrency) × latency: the render time is the only unavoidable cost, so the ratio
measures what claiming, polling, downloading, verifying and recording add. Targets: ≤ 1.25× and ≤ 5 status
polls per job, on a temp SQLite DB (or `--db URL`).

    PYTHONPATH=. .venv/bin/python bench/render.py [--jobs 120] [--concurrency 8] [--latency 2] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from core.db import session_scope
from core.jobs import Worker, request_image
from core.models import Job
from core.runtime import open_runtime
from core.settings import load_settings
from tests.core.jobs_factory import make_board
from tests.fakes.higgs_server import FakeHiggsServer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=120)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--latency", type=float, default=2.0, help="seconds from submit to a finished render")
    p.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    a = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, FakeHiggsServer(latency_s=a.latency) as server:
        key_id, secret = server.credentials
        settings = load_settings({}, secrets_file=Path(tmp) / "none.toml", studio_data_dir=Path(tmp) / "data",
                                 database_url=a.db, hf_key=SecretStr(f"{key_id}:{secret}"), renderer="higgs",
                                 higgs_base_url=server.base_url, render_concurrency=a.concurrency,
                                 allow_private_downloads=True, allow_http_downloads=True)  # the fake is local
        rt = open_runtime(settings)
        with session_scope(rt.sessions) as s:
            frames: list[int] = []
            while len(frames) < a.jobs:
                frames += make_board(s, shots=10, frames=4).frame_ids
            ids = [request_image(s, f, settings=settings).id for f in frames[: a.jobs]]

        worker = Worker(rt, idle_s=0.05)
        began = time.perf_counter()
        worker.run(drain=True)
        wall = time.perf_counter() - began

        with rt.sessions() as s:
            jobs = [s.get(Job, i) for i in ids]
            statuses: dict[str, int] = {}
            for job in jobs:
                statuses[job.status] = statuses.get(job.status, 0) + 1
            polls = sum(j.polls for j in jobs) / len(jobs)
        ideal = math.ceil(a.jobs / a.concurrency) * a.latency
        result = {
            "jobs": a.jobs, "concurrency": a.concurrency, "latency_s": a.latency, "db": rt.engine.dialect.name,
            "wall_s": round(wall, 2), "ideal_s": round(ideal, 2), "ratio": round(wall / ideal, 3),
            "polls_per_job": round(polls, 2), "server_polls_per_job": round(sum(server.polls.values()) / a.jobs, 2),
            "statuses": statuses, "charged": server.charged_requests,
            "targets_met": wall / ideal <= 1.25 and polls <= 5 and statuses == {"succeeded": a.jobs},
        }
        rt.engine.dispose()
    print(json.dumps(result, indent=2))
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
