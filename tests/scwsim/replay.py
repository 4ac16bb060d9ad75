"""Replaying recorded Scaleway exchanges against the simulator and comparing the answers.

A ``Replayer`` maps recorded ids to the simulator's (learnt from answers, or set
by a scenario's set-up), moves the simulator's manual clock by the time between
recorded exchanges, and checks each answer against the recording: status,
headers, field names (nothing missing, nothing the recordings never show),
JSON types at every level, the key order of raw (not re-encoded) bodies, and the
values of state-like fields exactly.
"""

from __future__ import annotations

import email.utils
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.lab.scwsim import Simulator

# ../shared/scaleway-recordings next to the checkout, or V2S_SCW_RECORDINGS (a worktree).
RECORDINGS = Path(
    os.environ.get("V2S_SCW_RECORDINGS")
    or Path(__file__).resolve().parents[3] / "shared" / "scaleway-recordings"
)
# Fields whose recorded values the simulator must reproduce exactly.
EXACT = {
    "status", "state", "state_detail", "allowed_actions", "type", "volume_type", "class",
    "product_resource_type", "resource", "availability", "argument_name", "reason",
    "description", "progress", "public", "message", "size", "name", "tags", "arch",
    "commercial_type", "boot_type", "hostname", "dynamic_ip_required", "enable_ipv6",
    "routed_ip_enabled", "protected", "end_of_service", "perf_iops", "from_server",
    "default_bootscript", "extra_networks", "maintenances", "filesystems", "zone",
    "href_from", "href_result",
}  # fmt: skip
MAPS = {"volumes", "extra_volumes", "servers"}  # dicts keyed by index or commercial type


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / name).read_text())
    return data


def exchanges(recording: dict[str, Any]) -> list[dict[str, Any]]:
    return list(recording.get("exchanges") or [recording])


def _kind(url: str) -> str:
    parts = url.split("?")[0].strip("/").split("/")
    return f"{parts[0]}:{parts[4] if len(parts) > 4 else ''}"


def _walk_keys(body: Any, path: str, out: dict[str, set[str]]) -> None:
    if isinstance(body, dict):
        if path.rsplit("|", 1)[-1].split(".")[-1] in MAPS:
            for v in body.values():
                _walk_keys(v, path + "{}", out)
            return
        out.setdefault(path, set()).update(body)
        for k, v in body.items():
            _walk_keys(v, f"{path}.{k}", out)
    elif isinstance(body, list):
        for v in body:
            _walk_keys(v, path + "[]", out)


def known_keys() -> dict[str, set[str]]:
    """Every field name the recordings show, per (API, collection, status, JSON path)."""
    out: dict[str, set[str]] = {}
    for f in sorted(RECORDINGS.glob("*.json")):
        for ex in exchanges(json.loads(f.read_text())):
            label = f"{_kind(ex['request']['url'])}:{ex['response']['status'] // 100}xx|"
            _walk_keys(ex["response"]["body"], label, out)
    return out


def _category(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


class Replayer:
    """Replays one recording's exchanges on a manual-clock simulator."""

    def __init__(self, sim: Simulator, keys: dict[str, set[str]]) -> None:
        self.sim = sim
        self.keys = keys
        self.ids: dict[str, str] = {
            "<project_id>": sim.account.project_id,
            "<organization_id>": sim.account.organization_id,
        }
        self.last_date: float | None = None
        self.replayed = 0
        self.session = requests.Session()

    # -- driving the simulator ---------------------------------------------------
    def call(self, method: str, url: str, body: Any = None) -> requests.Response:
        return self.session.request(
            method,
            self.sim.url + url,
            data=None if body is None else json.dumps(body),
            headers={
                "X-Auth-Token": self.sim.account.secret_key,
                "Content-Type": "application/json",
            },
            timeout=30,
        )

    def api(self, method: str, url: str, body: Any = None) -> Any:
        """A set-up call that must succeed; returns the JSON answer."""
        r = self.call(method, url, body)
        assert r.status_code < 300, f"set-up {method} {url}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def settle(self, seconds: float = 100) -> None:
        self.sim.wait_workers()
        self.sim.advance(seconds)

    def sub(self, value: Any) -> Any:
        text = json.dumps(value)
        for rec, new in self.ids.items():
            text = text.replace(rec, new)
        return json.loads(text)

    # -- replay and comparison ------------------------------------------------------
    def replay(self, ex: dict[str, Any], before: Callable[[], None] | None = None) -> None:
        self.sim.wait_workers()  # downloads finish "on time" on the manual clock
        if "date" in ex:
            when = email.utils.parsedate_to_datetime(ex["date"]).timestamp()
            if self.last_date is not None and when > self.last_date:
                self.sim.advance(when - self.last_date)
            self.last_date = when
        if before is not None:
            before()
        self.sim.wait_workers()
        req = ex["request"]
        got = self.call(req["method"], self.sub(req["url"]), self.sub(req["body"]))
        where = f"{req['method']} {req['url']} (interaction {ex.get('interaction')})"
        rec = ex["response"]
        assert got.status_code == rec["status"], f"{where}: {got.status_code} {got.text}"
        for name in rec["headers"]:
            assert name in got.headers, f"{where}: header {name} missing"
        if rec["status"] == 429:
            assert "Content-Type" not in got.headers, where
            assert got.headers.get("X-Envoy-Ratelimited") == "true", where
        if rec["body"] is None:
            assert got.content == b"", f"{where}: expected an empty body, got {got.text}"
        else:
            body = got.json()
            label = f"{_kind(req['url'])}:{rec['status'] // 100}xx|"
            self.compare(rec["body"], body, label, where)
            self.learn(rec["body"], body)
        self.replayed += 1

    def compare(self, rec: Any, got: Any, path: str, where: str) -> None:
        at = f"{where} at {path}"
        assert _category(rec) == _category(got), f"{at}: {got!r} is not like {rec!r}"
        last = path.rsplit("|", 1)[-1].split(".")[-1]
        key = last.rstrip("[]{}")
        if key in EXACT and not isinstance(rec, dict):
            assert self.sub(rec) == got, f"{at}: {got!r} != recorded {rec!r}"
        if isinstance(rec, dict):
            if last in MAPS:
                assert set(rec) <= set(got), f"{at}: keys {set(rec) - set(got)} missing"
                for k in rec:
                    self.compare(rec[k], got[k], path + "{}", where)
                return
            missing = set(rec) - set(got)
            assert not missing, f"{at}: fields {missing} missing"
            if list(rec) != sorted(rec):  # a raw body (not re-encoded): same key order
                order = [k for k in got if k in rec]
                assert order == list(rec), f"{at}: key order {order} != recorded {list(rec)}"
            invented = set(got) - self.keys.get(path, set()) - set(rec)
            assert not invented, f"{at}: fields {invented} never seen in the recordings"
            for k in rec:
                self.compare(rec[k], got[k], f"{path}.{k}", where)
        elif isinstance(rec, list):
            assert len(rec) == len(got), f"{at}: {len(got)} items, recorded {len(rec)}"
            for r, g in zip(rec, got, strict=True):
                self.compare(r, g, path + "[]", where)

    def learn(self, rec: Any, got: Any) -> None:
        """Map recorded ids to the simulator's by walking both answers side by side."""
        if isinstance(rec, dict) and isinstance(got, dict):
            for k, v in rec.items():
                if k not in got:
                    continue
                if k == "id" and isinstance(v, str) and isinstance(got[k], str):
                    self.ids.setdefault(v, got[k])
                else:
                    self.learn(v, got[k])
        elif isinstance(rec, list) and isinstance(got, list):
            for r, g in zip(rec, got, strict=False):
                self.learn(r, g)
