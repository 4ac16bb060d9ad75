"""End to end with ``transport: block``: the lab VM written onto Block volumes attached to
the lab's migration host, converted in place, booted by the simulator from its volumes;
destroy leaves nothing (no volume left attached). ONE conversion, ONE boot."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.lab.demo import v2s
from tests.lab.lab import MIGRATION, Lab

pytestmark = [pytest.mark.e2e, pytest.mark.lab]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_block_transport_migrates_boots_from_volumes_and_leaves_nothing() -> None:
    with Lab() as lab:
        cfg = lab.config()
        cfg["migrations"][MIGRATION]["transport"] = "block"
        lab.write_config()
        (lab.root / "v2s.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        with lab.sim.store.lock:
            images_before = set(lab.sim.store.images)  # the catalogue's own images
        code, out = v2s(lab, "plan", capture=True)
        assert code == 0, out
        assert "volume_attachment" in out and "disk_sync" in out and "scw_image" not in out
        code, out = v2s(lab, "apply", "-auto-approve", capture=True)
        assert code == 0, out[-4000:]
        records = list(lab.boots.records.values())
        assert records, "the simulator never started a server"
        rec = records[-1]
        assert rec.state == "up", f"{rec.reason}\n{rec.console_tail}"
        assert "V2S-MARKER" in rec.to_json()["marker"]
        with lab.sim.store.lock:  # the server boots the volumes v2s created, nothing else
            server = lab.sim.store.servers[rec.server_id]
            images = set(lab.sim.store.images)
        assert images == images_before and server["volumes"]  # no image made
        device_dir = Path(lab.env["V2S_SCW_DEVICE_DIR"])
        host_links = sorted(p.name for p in device_dir.iterdir())
        assert len(host_links) == 1  # the host's own root volume: every attachment is gone
        lab.boots.close_boots()
        code, out = v2s(lab, "plan", "--detailed-exitcode", capture=True)
        assert code == 0, out
        code, out = v2s(lab, "destroy", "-auto-approve", capture=True)
        assert code == 0, out[-4000:]
        assert lab.leftovers(lab.root / ".v2s") == []
        assert sorted(p.name for p in device_dir.iterdir()) == host_links
