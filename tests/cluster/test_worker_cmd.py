"""`v2s worker`: what a migration host declares, from the instance metadata or options."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import run
from vmware2scw.cluster.host import from_metadata, host_facts
from vmware2scw.errors import ConfigError

METADATA = {"id": "11111111-2222-3333-4444-555555555555", "hostname": "mig-host-1",
            "zone": "nl-ams-2", "commercial_type": "POP2-4C-16G"}


@pytest.fixture
def metadata_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(METADATA).encode() if self.path == "/conf?format=json" else b""
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/conf?format=json"
    server.shutdown()
    server.server_close()


def test_facts_come_from_the_metadata_and_options_override_them(
        metadata_url: str, tmp_path: Path) -> None:
    meta = from_metadata(metadata_url)
    facts = host_facts(metadata=meta, zone=None, name=None, work_dir=tmp_path)
    assert (facts.name, facts.zone, facts.server_id) == ("mig-host-1", "nl-ams-2", METADATA["id"])
    facts = host_facts(metadata=meta, zone="fr-par-2", name="other", work_dir=tmp_path)
    assert (facts.name, facts.zone) == ("other", "fr-par-2")


def test_unreadable_metadata_says_what_to_do(metadata_url: str) -> None:
    with pytest.raises(ConfigError, match="cannot read the instance metadata") as info:
        from_metadata(metadata_url.replace("/conf", "/nothing"))
    assert "--zone" in str(info.value)


def test_worker_refuses_plaintext_and_incomplete_tls(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = run(capsys, tmp_path, "worker", "--scheduler", "tcp://127.0.0.1:8786",
                "--zone", "fr-par-1", "--name", "h")
    assert plain.code == 1 and "refusing a plaintext tcp:// scheduler" in plain.err
    tls = run(capsys, tmp_path, "worker", "--scheduler", "tls://127.0.0.1:8786",
              "--zone", "fr-par-1", "--name", "h")
    assert tls.code == 1 and "needs --tls-ca, --tls-cert and --tls-key" in tls.err
