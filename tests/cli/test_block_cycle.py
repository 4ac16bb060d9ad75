"""``transport: block`` through the CLI on the test provider: plan, apply, destroy."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import creations, live, project_config, run, write_config


def test_block_transport_round_trip_keeps_volumes_and_server_only(tmp_path: Path,
                                                                  capsys) -> None:
    cfg = project_config(vms=1, disks=2)
    cfg["migrations"]["m00"]["transport"] = "block"
    write_config(tmp_path, cfg)
    r = run(capsys, tmp_path, "plan", "--detailed-exitcode")
    assert r.code == 2, r.text
    assert "volume_attachment" in r.out and "scw_image" not in r.out
    r = run(capsys, tmp_path, "apply", "-auto-approve")
    assert r.code == 0, r.text
    # attachments and the snapshot are transient: used, then cleaned up
    assert set(live(tmp_path)) == {"migration.m00.scw_volume[0]", "migration.m00.scw_volume[1]",
                                   "migration.m00.disk_sync[0]", "migration.m00.disk_sync[1]",
                                   "migration.m00.guest_conversion", "migration.m00.scw_server"}
    r = run(capsys, tmp_path, "plan", "--detailed-exitcode")
    assert r.code == 0, r.text
    r = run(capsys, tmp_path, "destroy", "-auto-approve")
    assert r.code == 0, r.text
    assert live(tmp_path) == {}
    assert max(creations(tmp_path).values()) == 1
