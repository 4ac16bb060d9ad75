"""Fixtures: the Scaleway simulator (beside the moto S3 server) and a configured provider."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from v2s_scaleway.provider import ScalewayProvider

from tests.lab.s3 import ACCESS_KEY, SECRET_KEY, MotoS3Server
from tests.lab.scwsim import Simulator
from vmware2scw.provider import ConfigureRequest

LINEAGE = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture
def sim(s3_server: MotoS3Server) -> Iterator[Simulator]:
    """A fresh simulator (fast clock) importing from the session's moto server."""
    with Simulator(s3_endpoint=s3_server.endpoint_url, s3_access_key=ACCESS_KEY,
                   s3_secret_key=SECRET_KEY, speed=100) as s:
        yield s
        assert s.internal_errors == []


@pytest.fixture
def bucket() -> str:
    return f"v2s-transit-{uuid.uuid4().hex[:10]}"


def configure(sim: Simulator, s3_server: MotoS3Server, bucket: str, tmp_path: Path,
              environ: dict[str, str] | None = None, **extra: object) -> ScalewayProvider:
    """A ScalewayProvider pointed at the simulator and the moto server (plus ``environ``)."""
    env = {**sim.env, "SCW_CONFIG_PATH": str(tmp_path / "no-config.yaml"), **(environ or {})}
    prov = ScalewayProvider(environ=env)
    settings = {"s3_endpoint": s3_server.endpoint_url, "transit_bucket": bucket,
                "poll_interval": 0.05, "backoff_base": 0.01, "backoff_max": 0.05,
                "access_key": ACCESS_KEY, **extra}
    prov.configure(ConfigureRequest(settings=settings, lineage=LINEAGE, work_dir=tmp_path))
    return prov  # its own boto3 client (moto accepts the simulator's secret key)


@pytest.fixture
def provider(sim: Simulator, s3_server: MotoS3Server, bucket: str,
             tmp_path: Path) -> Iterator[ScalewayProvider]:
    prov = configure(sim, s3_server, bucket, tmp_path)
    yield prov
    prov.close()


@pytest.fixture
def qcow2(tmp_path: Path) -> Path:
    """A small valid qcow2 (1 GiB virtual) with a few MiB of data."""
    path = tmp_path / "disk0.qcow2"
    raw = tmp_path / "disk0.raw"
    with raw.open("wb") as f:
        f.truncate(1024**3)
        f.seek(0)
        f.write(uuid.uuid4().bytes * 65536)  # 1 MiB of data at the start
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(path)], check=True)
    raw.unlink()
    return path
