"""Every examples/*.yaml loads, expands and configures its providers as `v2s validate`
would, offline (a static inventory stands in for vCenter); every `v2s` command line of
the CI recipes parses with the real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from vmware2scw.cli import main
from vmware2scw.config import load, static_inventory
from vmware2scw.config.expand import expand
from vmware2scw.diagnostics import Severity
from vmware2scw.graph import build_graph, check_acyclic
from vmware2scw.provider import DiskFacts, NicFacts, VMFacts
from vmware2scw.registry import load_providers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
LINEAGE = "0a1b2c3d-0000-4000-8000-000000000001"
GIB = 1 << 30
ENV = {
    "GOVC_URL": "https://vcenter.example.com/sdk",
    "GOVC_USERNAME": "svc-v2s@vsphere.local",
    "GOVC_PASSWORD": "example-password",
    "VSPHERE_USER": "svc-v2s@vsphere.local",
    "VSPHERE_PASSWORD": "example-password",
    "SCW_ACCESS_KEY": "SCWEXAMPLEXXXXXXXXXX",
    "SCW_SECRET_KEY": "11111111-1111-4111-8111-111111111111",
    "SCW_DEFAULT_PROJECT_ID": "22222222-2222-4222-8222-222222222222",
    "SCW_CONFIG_PATH": "/nonexistent/scw-config.yaml",
}
VARS = {  # variables without a default, as a user would pass them with -var
    "project_id": "22222222-2222-4222-8222-222222222222",
    "pn_backend": "33333333-3333-4333-8333-333333333333",
    "pn_id": "33333333-3333-4333-8333-333333333333",
}


def _vm(name: str, disks: int = 1, *, family: str = "linux",
        nics: tuple[str, ...] = ("VM Network",), guest_id: str = "debian12_64Guest") -> VMFacts:
    return VMFacts(
        name=name, instance_uuid=f"uuid-{name}", moref=f"vm-{abs(hash(name)) % 1000}",
        num_cpus=2, memory_mb=4096, guest_id=guest_id, guest_family=family, firmware="bios",
        datastores=("datastore1",), change_version=f"2026-01-01T00:00:00Z/{name}",
        disks=tuple(DiskFacts(key=2000 + k, label=f"Hard disk {k + 1}", capacity_bytes=20 * GIB,
                              file=f"[datastore1] {name}/{name}_{k}.vmdk",
                              datastore="datastore1", thin=True, controller="pvscsi")
                    for k in range(disks)),
        nics=tuple(NicFacts(mac=f"00:50:56:00:{i:02x}:{abs(hash(name)) % 256:02x}",
                            adapter="vmxnet3", network=n) for i, n in enumerate(nics)),
    )  # fmt: skip


INVENTORY = [
    _vm("web-server-01"),
    _vm("db-server-01", disks=2),
    _vm("api-server-01", nics=("VM Network", "Backup Network")),
    _vm("db-01"), _vm("db-02", disks=2),
    _vm("app-server-01"), _vm("app-server-02"), _vm("app-server-03"),
    _vm("win-2019-01", family="windows", guest_id="windows2019srv_64Guest"),
]


def _expand(path: Path, **extra: str):  # type: ignore[no-untyped-def]
    used = {m.group(1) for m in re.finditer(r"\$\{var\.([A-Za-z0-9_]+)\}", path.read_text())}
    values = {**VARS, **extra}
    loaded = load(path, var_args=[f"{k}={v}" for k, v in values.items() if k in used],
                  environ=ENV)
    cfg = loaded.config
    if any(p.get("source") == "test" for p in cfg.providers.values()):
        return loaded, *expand(loaded, lineage=LINEAGE, inventory=_test_inventory(loaded))
    return loaded, *expand(loaded, lineage=LINEAGE, inventory=static_inventory(INVENTORY))


def _test_inventory(loaded):  # type: ignore[no-untyped-def]
    """The test provider's own `vms:` list, as its inventory would serve it."""
    vms = []
    for raw in loaded.config.providers["vmware"]["vms"]:
        disks = tuple(DiskFacts(label=f"disk {d['key']}", **d) for d in raw.get("disks", []))
        vms.append(VMFacts(**{k: v for k, v in raw.items() if k != "disks"}, disks=disks))
    return static_inventory(vms)


def test_every_example_is_listed() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"one-vm", "multi-disk", "wave", "private-network", "s3-backend", "windows"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    iso = tmp_path / "virtio-win.iso"  # the Windows example names the drivers ISO
    iso.write_bytes(b"")
    _, desired, diags = _expand(path, virtio_win_iso=str(iso))
    errors = [d for d in diags if d.severity is Severity.ERROR]
    assert errors == [], errors
    assert desired.resources, "an example must migrate something"
    check_acyclic(build_graph(desired))
    providers = load_providers(desired.providers, LINEAGE, tmp_path / "work")
    assert set(providers) >= {"vmware", "qemu", "scaleway"}
    for p in providers.values():
        p.close()


def _types(desired, migration: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(a.split(".", 2)[2] for a, r in desired.resources.items()
                  if r.migration == migration)


def test_multi_disk_has_one_chain_per_disk() -> None:
    _, desired, _ = _expand(ROOT / "examples/multi-disk.yaml")
    kinds = _types(desired, "db-01")
    assert "disk_export[1]" in kinds and "scw_snapshot[1]" in kinds
    image = desired.resources["migration.db-01.scw_image"].attributes
    assert len(image["extra_snapshot_ids"]) == 1


def test_wave_expands_wildcards_with_priorities() -> None:
    _, desired, _ = _expand(ROOT / "examples/wave.yaml")
    servers = {a: r for a, r in desired.resources.items() if r.type == "scw_server"}
    assert 'migration.app["app-server-03"].scw_server' in servers
    assert 'migration.db["db-02"].scw_server' in servers
    prio = {r.migration.split("[")[0]: r.priority for r in desired.resources.values()}
    assert prio["db"] < prio["app"]


def test_private_network_maps_the_nic() -> None:
    _, desired, _ = _expand(ROOT / "examples/private-network.yaml")
    srv = desired.resources["migration.api-01.scw_server"].attributes
    assert srv["private_networks"] == [VARS["pn_backend"]]
    assert srv["public_ip"] is False


def test_s3_backend_example_uses_s3() -> None:
    loaded, _, _ = _expand(ROOT / "examples/s3-backend.yaml")
    assert loaded.config.backend is not None and loaded.config.backend.s3 is not None


# --- CI recipes ------------------------------------------------------------------------

CI_FILES = sorted((ROOT / "examples/ci").glob("*.yml"))


def _v2s_commands(text: str) -> list[list[str]]:
    out = []
    for m in re.finditer(r"(?<![\w/.-])v2s[ \t]+([^\n|>;&#\]\"']*)", text):
        args = shlex.split(m.group(1))
        if args:
            out.append(args)
    return out


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.name)
def test_ci_recipe_commands_parse(path: Path) -> None:
    commands = _v2s_commands(path.read_text())
    assert {c[0] for c in commands if not c[0].startswith("-")} >= {"plan", "apply", "destroy"}
    for args in commands:  # --help after the arguments: parses them all, runs nothing
        assert main([*args, "--help"]) == 0, f"`v2s {shlex.join(args)}` does not parse"


def test_ci_recipes_post_markdown_and_apply_saved_plans() -> None:
    for path in CI_FILES:
        text = path.read_text()
        assert "--format markdown" in text, path.name
        assert re.search(r"v2s apply \S+\.v2s", text), path.name
        assert "destroy" in text, path.name
