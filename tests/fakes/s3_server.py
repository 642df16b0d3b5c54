"""A local S3-compatible server for tests: moto in server mode on a free 127.0.0.1 port.

    with running_s3() as s3:
        bucket = s3.new_bucket()
        env = s3.env(bucket)        # STORAGE_URL, S3_ENDPOINT_URL, keys: what a studio / worker process needs

The real s3fs / botocore clients talk to it over HTTP, so the code under test is exactly what runs against AWS,
MinIO or R2. Credentials are the conventional fake "testing" pair.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.fakes.ports import free_port

KEY_ID = "testing"
SECRET = "testing"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, region_name=REGION)

    def new_bucket(self) -> str:
        """A fresh empty bucket, so tests sharing the server never see each other's objects."""
        name = f"studio-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in `bucket` under `prefix` (paginated: moto pages at 1000 like AWS)."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def settings_overrides(self, bucket: str, prefix: str = "studio") -> dict[str, Any]:
        """`load_settings(**overrides)` values pointing a process at `bucket`."""
        return {"storage_url": f"s3://{bucket}/{prefix}", "s3_endpoint_url": self.endpoint_url,
                "s3_region": REGION, "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}

    def env(self, bucket: str, prefix: str = "studio") -> dict[str, str]:
        """The same as environment variables, for subprocesses."""
        return {k.upper(): str(v) for k, v in self.settings_overrides(bucket, prefix).items()}


@contextmanager
def running_s3() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
