"""Contract: injected faults and authentication surface as the real SDK raises them."""

from __future__ import annotations

import json
import time

import pytest
import requests
from scaleway import ScalewayException
from scaleway.instance.v1.custom_api import InstanceUtilsV1API

from tests.lab.scwsim import Faults, Simulator


def _inst(sim: Simulator) -> InstanceUtilsV1API:
    return InstanceUtilsV1API(sim.client())


def test_429_has_the_gateway_shape_and_breaks_the_sdk_json_parsing(sim: Simulator) -> None:
    sim.set_faults(Faults(script=["429", "429"]))
    raw = requests.get(
        f"{sim.url}/instance/v1/zones/fr-par-1/servers",
        headers={"X-Auth-Token": sim.account.secret_key},
        timeout=10,
    )
    assert raw.status_code == 429
    assert raw.content == b""
    assert raw.headers["X-Envoy-Ratelimited"] == "true"
    assert "Content-Type" not in raw.headers
    assert "Retry-After" not in raw.headers
    # The SDK calls res.json() on the empty body: a JSON decode error, not a ScalewayException.
    with pytest.raises(requests.exceptions.JSONDecodeError):
        _inst(sim).list_servers()
    assert _inst(sim).list_servers().servers == []  # the script is used up


def test_503_envoy_text_and_json_variants(sim: Simulator) -> None:
    sim.set_faults(Faults(script=["503"]))
    with pytest.raises(requests.exceptions.JSONDecodeError) as exc:
        _inst(sim).list_servers()
    assert "upstream connect error" in exc.value.doc
    sim.set_faults(Faults(script=["503"], body_503="json"))
    with pytest.raises(ScalewayException) as sexc:
        _inst(sim).list_servers()
    assert sexc.value.status_code == 503


def test_connection_reset_raises_connection_error(sim: Simulator) -> None:
    sim.set_faults(Faults(script=["reset"]))
    with pytest.raises(requests.exceptions.ConnectionError):
        _inst(sim).list_servers_types()
    assert _inst(sim).list_servers_types().servers


def test_latency_is_added(sim: Simulator) -> None:
    sim.set_faults(Faults(latency=0.3))
    t = time.monotonic()
    _inst(sim).list_servers()
    assert time.monotonic() - t >= 0.3


def test_rates_are_deterministic_per_seed(sim: Simulator) -> None:
    def outcomes(seed: int) -> list[int]:
        sim.set_faults(Faults(rate_429=0.3, rate_503=0.2, seed=seed))
        return [
            requests.get(
                f"{sim.url}/instance/v1/zones/fr-par-1/servers",
                headers={"X-Auth-Token": sim.account.secret_key},
                timeout=10,
            ).status_code
            for _ in range(40)
        ]

    first = outcomes(7)
    assert first == outcomes(7)
    assert {200, 429, 503} == set(first)
    assert first != outcomes(8)


def test_fault_path_filter(sim: Simulator) -> None:
    sim.set_faults(Faults(rate_429=1.0, path=r"/products/"))
    assert _inst(sim).list_servers().servers == []
    with pytest.raises(requests.exceptions.JSONDecodeError):
        _inst(sim).list_servers_types()


def test_faults_over_http_admin_endpoint(sim: Simulator) -> None:
    headers = {"X-Auth-Token": sim.account.secret_key}
    r = requests.post(
        f"{sim.url}/_sim/faults", json={"script": ["429"]}, headers=headers, timeout=5
    )
    assert r.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        _inst(sim).list_servers()
    bad = requests.post(f"{sim.url}/_sim/faults", json={"rate_429": 2}, headers=headers, timeout=5)
    assert bad.status_code == 400


def test_bad_fault_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="probabilities"):
        Faults(rate_429=1.5)
    with pytest.raises(ValueError, match="add up"):
        Faults(rate_429=0.6, rate_503=0.6)
    with pytest.raises(ValueError, match="scripted outcome"):
        Faults(script=["boom"])  # type: ignore[list-item]


def test_wrong_or_missing_token_is_denied(sim: Simulator) -> None:
    bad = sim.client(secret_key="33333333-3333-4333-8333-333333333333")
    with pytest.raises(ScalewayException) as exc:
        InstanceUtilsV1API(bad).list_servers()
    assert exc.value.status_code == 401
    assert json.loads(exc.value.response.text)["type"] == "denied_authentication"
    raw = requests.get(f"{sim.url}/instance/v1/zones/fr-par-1/servers", timeout=5)
    assert raw.status_code == 401


def test_requests_per_second_limit(sim: Simulator) -> None:
    t = [100.0]
    sim.set_faults(Faults(max_rps=5, now=lambda: t[0]))

    def status() -> int:
        return requests.get(
            f"{sim.url}/instance/v1/zones/fr-par-1/servers",
            headers={"X-Auth-Token": sim.account.secret_key},
            timeout=10,
        ).status_code

    assert [status() for _ in range(7)] == [200] * 5 + [429] * 2
    t[0] += 1.0  # one second later the window is free again
    assert status() == 200


def test_sdk_configured_from_the_environment(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaleway import Client

    for k, v in sim.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SCW_CONFIG_PATH", "/nonexistent/scw-config.yaml")
    client = Client.from_config_file_and_env()
    assert client.api_url == sim.url
    assert "DEV1-S" in InstanceUtilsV1API(client).list_servers_types().servers


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/instance/v1/zones/fr-par-1/servers", {"commercial_type": 3}),
        ("/instance/v1/zones/fr-par-1/servers", {"commercial_type": "DEV1-S", "tags": "a"}),
        ("/instance/v1/zones/fr-par-1/servers", {"commercial_type": "DEV1-S", "volumes": []}),
        ("/instance/v1/zones/fr-par-1/servers", {"commercial_type": "DEV1-S", "volumes": [1]}),
        ("/instance/v1/zones/fr-par-1/servers", {"commercial_type": "DEV1-S", "volumes": {"0": 1}}),
        ("/block/v1/zones/fr-par-1/volumes", {"name": "v", "from_snapshot": "x"}),
        ("/instance/v1/zones/fr-par-1/images", {"name": ["x"], "arch": "x86_64"}),
        ("/block/v1/zones/fr-par-1/volumes", {"name": "v", "from_empty": {"size": "big"}}),
        ("/block/v1/zones/fr-par-1/snapshots/import-from-object-storage", [1, 2]),
    ],
)
def test_malformed_bodies_are_400_not_500(sim: Simulator, path: str, body: object) -> None:
    r = requests.post(
        sim.url + path, json=body, headers={"X-Auth-Token": sim.account.secret_key}, timeout=10
    )
    assert r.status_code == 400, r.text
    assert sim.internal_errors == []


def test_malformed_json_is_400(sim: Simulator) -> None:
    r = requests.post(
        f"{sim.url}/instance/v1/zones/fr-par-1/servers",
        data=b"{not json",
        headers={"X-Auth-Token": sim.account.secret_key},
        timeout=10,
    )
    assert r.status_code == 400
