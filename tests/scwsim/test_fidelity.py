"""Fidelity: every request of ../shared/scaleway-recordings replayed against the simulator.

Each recording gets a scenario: the set-up that makes its ids exist (mapped to
the simulator's), the actions that happened between its exchanges in the real
test run (poweron, image creation...), then every exchange in order with the
clock moved by the recorded time between them. ``Replayer`` checks status,
headers, field names, JSON types and state-like values against the recording.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.s3 import MotoS3Server
from tests.lab.scwsim import Faults, Simulator

from .replay import RECORDINGS, Replayer, exchanges, known_keys, load

pytestmark = pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason=f"recordings not found at {RECORDINGS}"
)

B = "/block/v1/zones/fr-par-1"
I = "/instance/v1/zones/fr-par-1"  # noqa: E741 - mirrors B
GB = 1_000_000_000
UBUNTU_2204 = "4481c662-2357-432f-b0fd-dd6470c08c49"
UBUNTU_2004 = "fc4d4e26-849d-4e03-b933-cb1626ca8cad"
TF_TAGS = ["terraform-test", "scaleway_instance_server"]
STATE_STOP = {
    "name": "tf-acc-server-state-stop",
    "dynamic_ip_required": False,
    "commercial_type": "DEV1-S",
    "image": UBUNTU_2204,
    "volumes": {"0": {"boot": False, "size": 20 * GB, "volume_type": "sbs_volume"}},
    "boot_type": "local",
    "tags": [*TF_TAGS, "state_stop"],
}


# -- set-up helpers -------------------------------------------------------------------
def volume(r: Replayer, name: str, size: int, rec_id: str | None = None) -> str:
    body = {"name": name, "perf_iops": 5000, "from_empty": {"size": size}, "tags": []}
    vid = str(r.api("POST", f"{B}/volumes", body)["id"])
    r.settle(1)
    if rec_id:
        r.ids[rec_id] = vid
    return vid


def snapshot(
    r: Replayer, volume_id: str, name: str, rec_id: str | None = None, tags: list[str] | None = None
) -> str:
    body = {"volume_id": volume_id, "name": name, "public": False, "tags": tags or []}
    sid = str(r.api("POST", f"{B}/snapshots", body)["id"])
    r.settle(2)
    if rec_id:
        r.ids[rec_id] = sid
    return sid


def volume_from_snapshot(r: Replayer, snapshot_id: str, name: str, rec_id: str) -> str:
    body = {
        "name": name, "perf_iops": 5000, "tags": [],
        "from_snapshot": {"snapshot_id": snapshot_id, "size": None},
    }  # fmt: skip
    vid = str(r.api("POST", f"{B}/volumes", body)["id"])
    r.ids[rec_id] = vid
    return vid


def server(r: Replayer, body: dict[str, Any], rec_id: str | None = None) -> dict[str, Any]:
    srv: dict[str, Any] = r.api("POST", f"{I}/servers", r.sub(body))["server"]
    if rec_id:
        r.ids[rec_id] = srv["id"]
    return srv


def action(r: Replayer, server_id: str, name: str) -> None:
    r.api("POST", f"{I}/servers/{server_id}/action", {"action": name})


def running(r: Replayer, body: dict[str, Any], rec_id: str) -> dict[str, Any]:
    srv = server(r, body, rec_id)
    action(r, srv["id"], "poweron")
    r.settle(10)
    return srv


def musing_banach_snapshot(r: Replayer) -> str:
    """The 20 GB volume and its snapshot of the TF image-basic test."""
    vol = volume(r, "tf-volume-musing-banach", 20 * GB, "20727023-47f4-4848-962a-705dba85488a")
    return snapshot(r, vol, "tf-snapshot-elegant-benz", "582d51a5-08a0-415f-b439-8dc93e71c451")


def image_basic(r: Replayer) -> str:
    snap = musing_banach_snapshot(r)
    body = {"name": "tf-image-recursing-khorana", "root_volume": snap, "arch": "x86_64"}
    img = r.api("POST", f"{I}/images", body)["image"]
    r.ids["a8618c3e-a566-48dd-b115-be6eec7bf4ea"] = img["id"]
    return str(img["id"])


def external_snapshot(r: Replayer) -> str:
    """The 50 GB snapshot 2f01a402 of the TF server-root-volume tests."""
    return snapshot(
        r, volume(r, "tf-volume-src", 50 * GB), "tf-snapshot-src",
        "2f01a402-0ef5-4c82-8386-c0f7c3364ac2",
    )  # fmt: skip


def upload(r: Replayer, s3: MotoS3Server, image: Path, bucket: str, key: str) -> None:
    s3.create_bucket(bucket)
    s3.client().upload_file(str(image), bucket, key)


# -- scenarios ------------------------------------------------------------------------
Scenario = Callable[[Replayer, list[dict[str, Any]], MotoS3Server, Path], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = fn
        return fn

    return register


def replay_all(
    r: Replayer, exs: list[dict[str, Any]], before: dict[int, Any] | None = None
) -> None:
    for i, ex in enumerate(exs):
        r.replay(ex, (before or {}).get(i))


@scenario("block-create-volume.json")
def _create_volume(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    external_snapshot(r)
    replay_all(r, exs)


@scenario("block-delete-snapshot.json")
def _delete_snapshot(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    musing_banach_snapshot(r)
    replay_all(r, exs)


@scenario("block-delete-volume.json")
def _delete_volume(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    volume(r, "tf-volume-musing-banach", 20 * GB, "20727023-47f4-4848-962a-705dba85488a")
    replay_all(r, exs)


@scenario("block-get-snapshot.json")
def _get_snapshot(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    snap = musing_banach_snapshot(r)
    bucket = f"v2s-fidelity-{uuid.uuid4().hex[:8]}"
    upload(r, s3, img, bucket, "test-acc-block-snapshot.qcow2")
    body = {
        "bucket": bucket, "key": "test-acc-block-snapshot.qcow2",
        "name": "test-acc-block-snapshot-qcow2", "project_id": "<project_id>", "tags": [],
    }  # fmt: skip
    imported = r.api("POST", f"{B}/snapshots/import-from-object-storage", r.sub(body))
    r.ids["ce022180-0308-455d-9cd3-01e9ab1e69ee"] = imported["id"]

    def make_image() -> None:
        r.api("POST", f"{I}/images", {"name": "tf-image", "root_volume": snap, "arch": "x86_64"})

    def delete_imported() -> None:
        r.settle(10)
        r.api("DELETE", f"{B}/snapshots/{imported['id']}")

    replay_all(r, exs, {2: make_image, 3: delete_imported})


@scenario("block-get-volume.json")
def _get_volume(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    snap = external_snapshot(r)
    vol = volume_from_snapshot(
        r, snap, "tf-volume-charming-lamport", "5b8d7933-39da-4467-9b6f-875d55f7f920"
    )

    def server_from_image() -> None:
        srv = server(r, {
            "name": "tf-acc-server-root-volume-from-image-block", "commercial_type": "DEV1-S",
            "image": UBUNTU_2004, "dynamic_ip_required": False,
            "volumes": {"0": {"boot": False, "size": 10 * GB, "volume_type": "sbs_volume"}},
        })  # fmt: skip
        r.ids["2488960e-3537-46e2-ab47-c95c1b9aadc7"] = srv["volumes"]["0"]["id"]

    def attach_and_delete() -> None:
        srv = server(r, {
            "name": "s", "commercial_type": "PLAY2-PICO", "dynamic_ip_required": False,
            "volumes": {"0": {"id": vol, "boot": False, "volume_type": "sbs_volume"}},
        })  # fmt: skip
        r.api("DELETE", f"{I}/servers/{srv['id']}")

    replay_all(r, exs, {2: server_from_image, 3: attach_and_delete})


@scenario("block-import-snapshot.json")
@scenario("block-import-snapshot-v1alpha1.json")
def _import(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    body = exs[0]["request"]["body"]
    upload(r, s3, img, body["bucket"], body["key"])
    replay_all(r, exs)


@scenario("block-list-snapshots.json")
def _list_snapshots(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    srv = server(r, {
        "name": "tf-srv", "commercial_type": "DEV1-S", "image": UBUNTU_2204,
        "dynamic_ip_required": False,
        "volumes": {"0": {"boot": False, "size": 20 * GB, "volume_type": "sbs_volume"}},
    })  # fmt: skip
    root = srv["volumes"]["0"]["id"]
    r.ids["75ea9e1b-6f92-4e5b-823b-1c2af5a038a9"] = root
    first = snapshot(r, root, "snp-epic-herschel", "b4003689-82c6-47e2-9d0d-536366e3dc9c")
    made: list[str] = []

    def second_test() -> None:
        r.api("DELETE", f"{B}/snapshots/{first}")
        r.api("DELETE", f"{I}/servers/{srv['id']}")
        r.api("DELETE", f"{B}/volumes/{root}")
        for i, tags in ((1, []), (2, ["test-tag"])):
            vol = volume(r, f"test-vol-snapshot-list-{i}", 10 * GB)
            made.append(snapshot(r, vol, f"test-snapshot-list-{i}", tags=tags))

    def emptied() -> None:
        for sid in made:
            r.api("DELETE", f"{B}/snapshots/{sid}")

    replay_all(r, exs, {1: second_test, 3: emptied})


@scenario("errors-misc.json")
def _errors(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    replay_all(r, exs, {1: lambda: r.sim.set_faults(Faults(script=["429"]))})


@scenario("instance-create-image.json")
def _create_image(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    musing_banach_snapshot(r)
    replay_all(r, exs)


@scenario("instance-create-private-nic.json")
def _private_nic(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    running(r, STATE_STOP, "481d2ece-0121-4c2e-95c0-0d9f9534f8a7")
    replay_all(r, exs)


@scenario("instance-create-server-sbs-from-image.json")
@scenario("instance-error-not-found.json")
@scenario("instance-products-servers-availability.json")
def _plain(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    replay_all(r, exs)


@scenario("instance-products-servers.json")
def _products(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    replay_all(r, exs)
    got = r.call("GET", f"{I}/products/servers?page=1").json()["servers"]
    for name, entry in exs[0]["response"]["body"]["servers"].items():
        assert got[name] == entry, f"catalogue entry {name} differs from the recording"


@scenario("instance-create-server-sbs-from-snapshot.json")
def _from_snapshot(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    snapshot(r, volume(r, "src", 20 * GB), "src-snap", "1a550866-b3b8-4c15-9bd6-9ea86bce8771")
    volume(r, "tf-volume-charming-lamport", 50 * GB, "5b8d7933-39da-4467-9b6f-875d55f7f920")
    replay_all(r, exs)


@scenario("instance-delete-image.json")
def _delete_image(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    image_basic(r)
    replay_all(r, exs)


@scenario("instance-delete-server.json")
def _delete_server(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    snapshot(r, volume(r, "src", 20 * GB), "src-snap", "1a550866-b3b8-4c15-9bd6-9ea86bce8771")
    create = exchanges(load("instance-create-server-sbs-from-snapshot.json"))[0]
    got = r.api("POST", f"{I}/servers", r.sub(create["request"]["body"]))
    r.learn(create["response"]["body"], got)
    replay_all(r, exs)


@scenario("instance-error-invalid-argument.json")
def _invalid(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    server(r, STATE_STOP, "21fe5475-f47f-44ef-8aba-4b37693bdf5e")
    ip = r.api("POST", f"{I}/ips", {"type": "routed_ipv4"})["ip"]
    r.ids["3822afd7-54f2-4f69-8f96-acdba89d55f1"] = ip["id"]
    replay_all(r, exs)


@scenario("instance-get-image.json")
def _get_image(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    image_id = image_basic(r)
    patch = {"name": "tf-test-image-basic", "arch": "arm64", "public": True,
             "tags": ["add", "tags", "to-be", "removed", "later"]}  # fmt: skip
    replay_all(r, exs, {
        1: lambda: r.api("PATCH", f"{I}/images/{image_id}", patch),
        2: lambda: r.api("DELETE", f"{I}/images/{image_id}"),
    })  # fmt: skip


@scenario("instance-get-server-states.json")
def _states(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    sid = server(r, STATE_STOP, "113b6ff7-de55-4910-a68c-c261035a41fb")["id"]

    def start_then_terminate() -> None:
        action(r, sid, "poweron")
        r.sim.advance(4)
        action(r, sid, "terminate")

    replay_all(r, exs, {
        1: lambda: action(r, sid, "poweron"),
        3: lambda: action(r, sid, "poweroff"),
        5: start_then_terminate,
    })  # fmt: skip


@scenario("instance-server-action-poweroff.json")
def _poweroff(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    running(r, STATE_STOP, "113b6ff7-de55-4910-a68c-c261035a41fb")
    replay_all(r, exs)


@scenario("instance-server-action-poweron.json")
def _poweron(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    server(r, STATE_STOP, "113b6ff7-de55-4910-a68c-c261035a41fb")
    replay_all(r, exs)


@scenario("instance-server-action-terminate.json")
def _terminate(r: Replayer, exs: list[dict[str, Any]], s3: MotoS3Server, img: Path) -> None:
    vol = volume_from_snapshot(
        r, external_snapshot(r), "tf-volume-charming-lamport",
        "5b8d7933-39da-4467-9b6f-875d55f7f920",
    )  # fmt: skip
    r.settle(1)
    running(r, {
        "name": "tf-acc-server-root-volume-from-external-snapshot-2",
        "dynamic_ip_required": False, "commercial_type": "PLAY2-PICO", "boot_type": "local",
        "volumes": {"0": {"id": vol, "boot": False, "volume_type": "sbs_volume"}},
        "tags": [*TF_TAGS, "root_volume_from_external_snapshot"],
    }, "f9d9cecc-3ca1-487a-8591-142b409560d0")  # fmt: skip
    replay_all(r, exs)


# -- the tests ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keys() -> dict[str, set[str]]:
    return known_keys()


@pytest.fixture
def replayer(manual_sim: Simulator, keys: dict[str, set[str]]) -> Iterator[Replayer]:
    yield Replayer(manual_sim, keys)


def _recording_names() -> list[str]:
    return sorted(p.name for p in RECORDINGS.glob("*.json")) if RECORDINGS.is_dir() else []


def test_every_recording_has_a_scenario() -> None:
    assert set(_recording_names()) == set(SCENARIOS)


@pytest.mark.parametrize("name", _recording_names())
def test_recording_replays(
    name: str, replayer: Replayer, s3_server: MotoS3Server, images: dict[str, Path]
) -> None:
    exs = exchanges(load(name))
    SCENARIOS[name](replayer, exs, s3_server, images["valid"])
    assert replayer.replayed == len(exs), "every recorded exchange must be replayed"


def test_json_spacing_of_each_api(manual_sim: Simulator) -> None:
    """Instance bodies use ", " and ": "; raw Block bodies ", " and ":" (README)."""
    r = Replayer(manual_sim, {})
    inst = r.call("GET", f"{I}/images/{UBUNTU_2204}").text
    assert '"state": "available", ' in inst
    vid = volume(r, "v", 10 * GB)
    blk = r.call("GET", f"{B}/volumes/{vid}").text
    assert '"status":"available", "tags":[]' in blk
