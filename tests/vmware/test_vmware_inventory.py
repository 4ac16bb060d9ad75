"""Inventory, validation diagnostics, and the session's TLS and re-login behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from v2s_vmware._vmomi import vim
from v2s_vmware.inventory import inventory
from v2s_vmware.provider import VMwareProvider
from v2s_vmware.session import Session, _PinnedAdapter
from v2s_vmware.settings import resolve

from tests.lab.scenario import VM, Disk, Nic, load
from tests.lab.vcsim import Vcsim
from tests.vmware.conftest import make_provider
from vmware2scw.diagnostics import Severity
from vmware2scw.errors import ConfigError, ProviderError
from vmware2scw.provider import InventoryRequest, PlanRequest

pytestmark = pytest.mark.lab

REFUSED = [
    # (VM spec, expected severity, words of the summary)
    (VM("f-rdm", features=("rdm",)), Severity.ERROR, "raw device mapping"),
    (VM("f-shared", disks=(Disk(sharing="sharingMultiWriter"),)), Severity.ERROR, "multi-writer"),
    (VM("f-pci", features=("pci_passthrough",)), Severity.ERROR, "PCI passthrough"),
    (VM("f-vgpu", features=("vgpu",)), Severity.ERROR, "vGPU"),
    (VM("f-indep", disks=(Disk(mode="independent_persistent"),)), Severity.ERROR, "independent"),
    (VM("f-snap", snapshots=("before-upgrade",)), Severity.ERROR, "snapshot(s): before-upgrade"),
    (VM("f-crypt", features=("encrypted",)), Severity.ERROR, "encrypted"),
    (VM("f-vtpm", features=("vtpm",)), Severity.ERROR, "virtual TPM"),
    (VM("f-big", disks=(Disk(capacity_bytes=8 << 20),)), Severity.ERROR, "import limit"),
    (VM("f-bios"), Severity.INFO, "converted to UEFI"),
    (VM("f-sb", firmware="efi", secure_boot=True), Severity.WARNING, "Secure Boot"),
    (VM("f-other", guest_id="freebsd12_64Guest"), Severity.ERROR, "not supported"),
    (VM("f-win", guest_id="windows2019srv_64Guest"), Severity.WARNING, "best-effort"),
    (VM("f-cpu", cpus=8), Severity.ERROR, "vCPUs"),
    (VM("f-mem", memory_mb=8192), Severity.ERROR, "MiB of memory"),
]


def _plan_diags(p: VMwareProvider, vm: str, **desired: object) -> list:
    req = PlanRequest(address=f"migration.{vm}.vmware_snapshot", type="vmware_snapshot",
                      prior=None, desired={"vm": vm, "name": "v2s-01234567", **desired})
    return list(p.plan(req).diagnostics)


def test_each_refused_feature_has_its_diagnostic(vc: Vcsim, tmp_path: Path) -> None:
    clean = VM("f-clean", firmware="efi", disks=(Disk(capacity_bytes=1 << 20),))
    load(vc, [spec for spec, _, _ in REFUSED] + [clean])
    p = make_provider(vc, tmp_path, max_disk_bytes=4 << 20)
    try:
        p.inventory(InventoryRequest(patterns=("f*",)))
        for spec, severity, words in REFUSED:
            diags = _plan_diags(p, spec.name, target_cpus=4, target_memory_mb=4096)
            hits = [d for d in diags if words in d.summary]
            assert hits, f"{spec.name}: no diagnostic about {words!r} in {diags}"
            assert hits[0].severity is severity and hits[0].detail
            assert hits[0].address == f"migration.{spec.name}.vmware_snapshot"
        assert _plan_diags(p, "f-clean", target_cpus=4, target_memory_mb=4096) == []
        # the converter that cannot do BIOS->UEFI makes BIOS an error
        strict = make_provider(vc, tmp_path, bios_to_uefi=False)
        strict.inventory(InventoryRequest(patterns=("f-bios",)))
        assert [d.severity for d in _plan_diags(strict, "f-bios")] == [Severity.ERROR]
        # independent disks are acceptable with a cold cutover (warning)
        indep = _plan_diags(p, "f-indep", power_off_source=True)
        assert [d.severity for d in indep if "independent" in d.summary] == [Severity.WARNING]
        # our own snapshot is not "an existing snapshot"
        own = _plan_diags(p, "f-snap", name="before-upgrade")
        assert not [d for d in own if "snapshot" in d.summary]
    finally:
        p.close()


def test_inventory_facts_and_constant_soap_calls(vc: Vcsim, tmp_path: Path) -> None:
    load(vc, [VM("inv-a", cpus=2, memory_mb=2048, firmware="efi",
                 nics=(Nic("vmxnet3"), Nic("e1000")),
                 disks=(Disk(capacity_bytes=2 << 20), Disk(capacity_bytes=3 << 20)))])
    p = make_provider(vc, tmp_path)
    try:
        (vm,) = p.inventory(InventoryRequest(patterns=("inv-a",))).vms
        assert (vm.num_cpus, vm.memory_mb, vm.firmware) == (2, 2048, "efi")
        assert vm.guest_family == "linux"
        assert [n.adapter for n in vm.nics] == ["vmxnet3", "e1000"]
        assert [d.capacity_bytes for d in vm.disks] == [2 << 20, 3 << 20]
        assert vm.disks[0].file == "[LocalDS_0] inv-a/inv-a_0.vmdk" and vm.host and vm.cluster
        assert vm.instance_uuid and vm.moref.startswith("vm-") and vm.change_version
        before = p.session.soap_calls
        everything = p.inventory(InventoryRequest()).vms
        assert len(everything) > 5
        assert p.session.soap_calls - before == 3  # CreateContainerView, Retrieve, DestroyView
    finally:
        p.close()


def test_tls_verified_by_default_pinned_or_insecure(vc: Vcsim, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"url": vc.url, "username": vc.username, "password": vc.password}
    with pytest.raises(ProviderError, match="TLS verification"):
        Session(resolve(base, {})).content  # noqa: B018 - system trust store: not trusted
    ok = Session(resolve({**base, "thumbprint": vc.thumbprint}, {}))
    assert ok.content.about.apiType
    # the pinned thumbprint also guards the datastore HTTP endpoint
    assert ok.http().get(f"https://{vc.host}/about", timeout=5).status_code == 200
    ok.close()
    wrong = "AA:" * 19 + "AA"
    with pytest.raises(ProviderError, match="thumbprint"):
        Session(resolve({**base, "thumbprint": wrong}, {})).content  # noqa: B018
    # a CA-valid certificate that is not the pinned one is refused too (SOAP and HTTP)
    with pytest.raises(ProviderError, match="does not match the pinned"):
        Session(resolve({**base, "ca_file": str(vc.cert_file), "thumbprint": wrong}, {})).content  # noqa: B018
    with requests.Session() as bad_http:  # the adapter datastore transfers use
        bad_http.trust_env, bad_http.verify = False, False
        bad_http.mount("https://", _PinnedAdapter(wrong.replace(":", "").lower()))
        with pytest.raises(requests.exceptions.SSLError, match=r"[Ff]ingerprint"):
            bad_http.get(f"https://{vc.host}/about", timeout=5)
    # REQUESTS_CA_BUNDLE in the environment does not override our verify setting
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(vc.cert_file))
    s = Session(resolve({**base, "thumbprint": vc.thumbprint}, {}))
    assert s.http().verify is False and s.http().trust_env is False
    s.close()


def test_relogin_after_the_session_expired(vc: Vcsim) -> None:
    s = Session(resolve(vc.settings(), {}))
    before = inventory(s)
    s.content.sessionManager.Logout()  # what an idle timeout does on the server side
    with pytest.raises(vim.fault.NotAuthenticated):
        s.content.viewManager.CreateContainerView(s.content.rootFolder, [], True)
    assert [v.moref for v in inventory(s)] == [v.moref for v in before]
    assert s.content.sessionManager.currentSession is not None
    s.content.sessionManager.Logout()
    assert s.properties(s.content.sessionManager, "currentSession") == {}
    s.check_session()  # what the keep-alive thread does every `keepalive_s`
    assert s.content.sessionManager.currentSession is not None
    s.close()


def test_settings_from_environment_and_errors() -> None:
    env = {"GOVC_URL": "https://bob:secret@vc.example.com/sdk", "GOVC_INSECURE": "1",
           "GOVC_DATACENTER": "DC1"}
    st = resolve({}, env)
    assert (st.url, st.username, st.password.get_secret_value(), st.insecure, st.datacenter) == \
        ("https://vc.example.com/sdk", "bob", "secret", True, "DC1")
    st = resolve({"url": "vc2.example.com", "insecure": False},
                 {"VSPHERE_SERVER": "x", "VSPHERE_USER": "u", "VSPHERE_PASSWORD": "p"})
    assert (st.url, st.username, st.insecure) == ("https://vc2.example.com/sdk", "u", False)
    with pytest.raises(ConfigError, match="url") as err:
        resolve({"password": "hunter2"}, {})
    assert "hunter2" not in str(err.value)
    with pytest.raises(ConfigError, match="thumbprint"):
        resolve({"url": "vc", "thumbprint": "zz"}, {})


def test_change_version_moves_when_the_vm_changes(vc: Vcsim, tmp_path: Path) -> None:
    loaded = load(vc, [VM("digest-me", cpus=1)])
    p = make_provider(vc, tmp_path)
    try:
        def version() -> str:
            return p.inventory(InventoryRequest(patterns=("digest-me",))).vms[0].change_version

        first = version()
        assert first == version()  # stable while nothing changes
        vm = vim.VirtualMachine(loaded.morefs["digest-me"], p.session.stub)
        task = vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=2))
        p.session.wait_task(task, what="reconfigure")
        second = version()
        assert second != first
        vc.patch(loaded.morefs["digest-me"], "change_version", "2026-11-25T10:00:00Z/42")
        assert version() == "2026-11-25T10:00:00Z/42"  # vCenter's own changeVersion wins
    finally:
        p.close()
