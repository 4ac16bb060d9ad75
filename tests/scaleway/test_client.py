"""The SDK transport: timeouts, retries, the empty-body 429, error classification."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from v2s_scaleway.client import (
    ApiError,
    ApiTransientError,
    MaybeAppliedError,
    ScalewayClient,
)
from v2s_scaleway.settings import ScalewaySettings, resolve_credentials

SECRET = "11111111-2222-3333-4444-555555555555"
PROJECT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SNAP = {"id": "s1", "name": "n", "size": 1, "project_id": PROJECT, "references": [],
        "status": "available", "tags": [], "zone": "fr-par-1", "class": "sbs",
        "public": False, "parent_volume": None, "created_at": None, "updated_at": None}


class Script:
    """Responses to serve in order: (status, body bytes, delay seconds); last one repeats."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, bytes, float]] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def fake() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append((self.command, self.path, dict(self.headers)))
            status, body, delay = (script.responses.pop(0) if len(script.responses) > 1
                                   else script.responses[0])
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            if status == 429:
                self.send_header("X-Envoy-Ratelimited", "true")
                self.send_header("Retry-After", "3")
            if body.startswith(b'{"servers"'):
                self.send_header("X-Total-Count", "7")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PATCH = _serve  # noqa: N815 - http.server names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


def make_client(url: str, **settings: object) -> ScalewayClient:
    settings = {"max_retries": 3, "backoff_base": 0.001, "backoff_max": 0.01, **settings}
    st = ScalewaySettings(api_url=url, secret_key=SECRET, access_key="SCWXXXXXXXXXXXXXXXXX",
                          project_id=PROJECT, zone="fr-par-1", **settings)  # type: ignore[arg-type]
    creds = resolve_credentials(st, environ={"SCW_CONFIG_PATH": "/nonexistent"})
    return ScalewayClient(creds, st)


def test_a_429_is_one_request_and_a_transient_error_with_the_hint(fake) -> None:
    url, script = fake
    script.responses = [(429, b"", 0)]  # the real API's empty-body 429
    with pytest.raises(ApiTransientError) as err:
        make_client(url).block.get_snapshot(snapshot_id="s1", zone="fr-par-1")
    assert "429" in str(err.value) and SECRET not in str(err.value)
    assert err.value.status == 429 and err.value.retry_after == 3.0
    assert len(script.seen) == 1  # never retried here: the walker's policy decides
    assert script.seen[0][2]["x-auth-token"] == SECRET


def test_a_5xx_get_is_one_request_and_a_transient_error(fake) -> None:
    url, script = fake
    script.responses = [(503, b"upstream connect error", 0), (200, json.dumps(SNAP).encode(), 0)]
    client = make_client(url)
    with pytest.raises(ApiTransientError) as err:
        client.block.get_snapshot(snapshot_id="s1", zone="fr-par-1")
    assert not isinstance(err.value, MaybeAppliedError) and len(script.seen) == 1
    assert client.block.get_snapshot(snapshot_id="s1", zone="fr-par-1").id == "s1"


def test_post_answered_503_is_not_blindly_repeated(fake) -> None:
    url, script = fake
    script.responses = [(503, b"upstream connect error", 0)]
    with pytest.raises(MaybeAppliedError):
        make_client(url).block.import_snapshot_from_object_storage(
            bucket="b", key="k.qcow2", name="n", zone="fr-par-1")
    assert len(script.seen) == 1


def test_post_answered_429_was_not_applied(fake) -> None:
    url, script = fake
    script.responses = [(429, b"", 0)]
    with pytest.raises(ApiTransientError) as err:
        make_client(url).block.import_snapshot_from_object_storage(
            bucket="b", key="k.qcow2", name="n", zone="fr-par-1")
    assert not isinstance(err.value, MaybeAppliedError) and len(script.seen) == 1


def test_404_is_a_provider_error_with_type(fake) -> None:
    url, script = fake
    body = {"type": "not_found", "message": "resource is not found", "resource": "snapshot"}
    script.responses = [(404, json.dumps(body).encode(), 0)]
    with pytest.raises(ApiError) as err:
        make_client(url).block.get_snapshot(snapshot_id="s1", zone="fr-par-1")
    assert err.value.status == 404 and err.value.type == "not_found"
    assert not isinstance(err.value, ApiTransientError)


def test_400_details_are_in_the_message(fake) -> None:
    url, script = fake
    body = {"type": "invalid_arguments", "message": "invalid argument(s)",
            "details": [{"argument_name": "key", "reason": "constraint"}]}
    script.responses = [(400, json.dumps(body).encode(), 0)]
    with pytest.raises(ApiError, match="argument_name"):
        make_client(url).block.get_snapshot(snapshot_id="s1", zone="fr-par-1")


def test_every_call_has_a_read_timeout(fake) -> None:
    url, script = fake
    script.responses = [(200, json.dumps(SNAP).encode(), 1.5)]
    client = make_client(url, read_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ApiTransientError, match="Timeout"):
        client.block.get_snapshot(snapshot_id="s1", zone="fr-par-1")
    assert time.monotonic() - started < 1.5 * 4


def test_refused_connection_is_retried_even_for_post() -> None:
    client = make_client("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ApiTransientError) as err:
        client.block.import_snapshot_from_object_storage(bucket="b", key="k", name="n")
    assert not isinstance(err.value, MaybeAppliedError)
    assert "NewConnectionError" in str(err.value)


def test_total_count_header_is_folded_into_the_body(fake) -> None:
    url, script = fake
    script.responses = [(200, json.dumps({"servers": {}}).encode(), 0)]
    res = make_client(url).instance.list_servers_types(zone="fr-par-1")
    assert res.servers == {} and int(res.total_count) == 7


def test_client_repr_hides_the_secret(fake) -> None:
    url, _ = fake
    c = make_client(url)
    assert SECRET not in repr(c) and SECRET not in repr(c.creds)
