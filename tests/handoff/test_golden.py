"""Golden hand-offs: state.json + observed.json -> the .tf files under expected/.

Set V2S_UPDATE_GOLDEN=1 to rewrite the expectations instead of comparing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.handoff.helpers import CASES, declared, imports, load_case, parse, render_case
from vmware2scw.state.model import Status

UPDATE = os.environ.get("V2S_UPDATE_GOLDEN") == "1"
CASE_DIRS = sorted(p.parent for p in CASES.glob("*/state.json"))
IDS = [c.name for c in CASE_DIRS]


def test_the_three_shapes_are_covered() -> None:
    assert {c.name for c in CASE_DIRS} >= {"one_disk", "multi_disk", "private_network"}


@pytest.mark.parametrize("case", CASE_DIRS, ids=IDS)
def test_files_match_expected(case: Path) -> None:
    files = {n: t for n, t in render_case(case).items() if n.endswith(".tf")}
    expected = case / "expected"
    if UPDATE:
        expected.mkdir(exist_ok=True)
        for old in expected.glob("*.tf"):
            old.unlink()
        for name, text in files.items():
            (expected / name).write_text(text)
    assert sorted(p.name for p in expected.glob("*.tf")) == sorted(files), (
        "file set differs: rerun with V2S_UPDATE_GOLDEN=1 and review")
    for name, text in files.items():
        assert text == (expected / name).read_text(), (
            f"{case.name}/{name} differs; if intended, rerun with V2S_UPDATE_GOLDEN=1 and review")


@pytest.mark.parametrize("case", CASE_DIRS, ids=IDS)
def test_every_file_is_valid_hcl(case: Path) -> None:
    files = render_case(case)
    for name, text in files.items():
        if name.endswith(".tf"):
            assert parse(text), name
    versions = parse(files["versions.tf"])["terraform"][0]
    assert versions["required_version"] == ">= 1.5.0"
    assert versions["required_providers"][0]["scaleway"]["source"] == "scaleway/scaleway"


@pytest.mark.parametrize("case", CASE_DIRS, ids=IDS)
def test_each_created_object_has_exactly_one_import_of_the_right_form(case: Path) -> None:
    _, observed = load_case(case)
    want: dict[str, str] = {}  # import id -> resource type
    for obs in observed.values():
        z = obs.zone
        want[f"{z}/{obs.id}"] = "scaleway_instance_server"
        want.update({f"{z}/{v.id}": "scaleway_block_volume" for v in obs.volumes})
        want.update({f"{z}/{ip.id}": "scaleway_instance_ip" for ip in obs.public_ips
                     if not ip.dynamic})
        want.update({f"{z}/{obs.id}/{n.id}": "scaleway_instance_private_nic" for n in obs.nics})
    files = render_case(case)
    got = imports(files)
    counts = Counter(i for _, i in got)
    assert counts == Counter(want.keys()), "each object exactly once, nothing else"
    resources = declared(files)
    for to, import_id in got:
        assert to in resources, f"import to {to}: no such resource"
        assert to.split(".")[0] == want[import_id]
    assert len(resources) == len(got), "every resource has an import block"


@pytest.mark.parametrize("case", CASE_DIRS, ids=IDS)
def test_server_references_its_volume_and_ip_resources(case: Path) -> None:
    _, observed = load_case(case)
    files = render_case(case)
    resources = declared(files)
    import_of = dict(imports(files))
    servers = {k: v for k, v in resources.items() if k.startswith("scaleway_instance_server.")}
    assert len(servers) == len(observed)
    for key, server in servers.items():
        name = key.split(".", 1)[1]
        obs = next(o for o in observed.values() if import_of[key] == f"{o.zone}/{o.id}")
        vols = [f"scaleway_block_volume.{name}_disk{k}.id" for k in range(len(obs.volumes))]
        assert server["root_volume"][0]["volume_id"] == vols[0]
        assert server.get("additional_volume_ids", []) == vols[1:]
        assert "image" not in server  # exactly one of image / root_volume.volume_id
        if any(not ip.dynamic for ip in obs.public_ips):
            assert server["ip_id"] == f"scaleway_instance_ip.{name}.id"
        nics = [k for k, v in resources.items() if k.startswith("scaleway_instance_private_nic.")
                and v["server_id"] == f"{key}.id"]
        assert len(nics) == len(obs.nics)


@pytest.mark.parametrize("case", CASE_DIRS, ids=IDS)
def test_nothing_v2s_deleted_is_in_the_output(case: Path) -> None:
    state, _ = load_case(case)
    text = "\n".join(t for n, t in render_case(case).items() if n.endswith(".tf"))
    gone = [r for r in state.resources.values() if r.status is Status.TRANSIENT_DONE]
    assert gone
    for rs in gone:
        for value in rs.attributes.values():
            if isinstance(value, str) and len(value) > 6:
                assert value not in text, f"{rs.address}: {value} is in the hand-off"
    types = {k.split(".")[0] for k in declared(render_case(case))}
    assert types <= {"scaleway_instance_server", "scaleway_block_volume",
                     "scaleway_instance_ip", "scaleway_instance_private_nic"}


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
@pytest.mark.parametrize("case", CASE_DIRS, ids=IDS)
def test_files_are_as_terraform_fmt_writes_them(case: Path, tmp_path: Path) -> None:
    for name, text in render_case(case).items():
        if name.endswith(".tf"):
            (tmp_path / name).write_text(text)
    res = subprocess.run(["terraform", "fmt", "-check", "-diff", "-no-color", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=False,
                         env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
    assert res.returncode == 0, res.stdout
