"""A project directory served by the test provider, and ways to run `v2s` on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vmware2scw.cli import main

ROOT = Path(__file__).resolve().parents[2]


def project_config(store: str = "cloud.json", *, vms: int = 2, disks: int = 1,
                   knobs: dict[str, Any] | None = None, backend: dict[str, Any] | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config migrating ``vms`` test VMs (``vm-00``...) with all three providers = test."""
    common = {"source": "test", "store": store, **(knobs or {})}
    vm_list = [{"name": f"vm-{i:02d}", "num_cpus": 2, "memory_mb": 2048,
                "disks": [{"key": 2000 + k, "capacity_bytes": 2**30 * (k + 1)}
                          for k in range(disks)],
                "change_version": f"cv-{i}"} for i in range(vms)]
    cfg: dict[str, Any] = {
        "v2s": 1,
        "providers": {"vmware": {**common, "vms": vm_list}, "qemu": dict(common),
                      "scaleway": dict(common)},
        "migrations": {f"m{i:02d}": {"source": {"vm": f"vm-{i:02d}"},
                                     "target": {"type": "PRO2-S"}} for i in range(vms)},
        "outputs": {"first_ip": {"value": "${migration.m00.scw_server.public_ip_address}"}},
    }
    if backend:
        cfg["backend"] = backend
    for key, value in (extra or {}).items():
        cfg[key] = value
    return cfg


def write_config(directory: Path, cfg: dict[str, Any], name: str = "v2s.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run(capsys: Any, directory: Path, *args: str) -> Result:
    """Run `v2s` in-process in ``directory`` (no prompt: stdin is not a terminal)."""
    old, mask = Path.cwd(), os.umask(0o022)
    os.umask(mask)
    os.chdir(directory)
    try:
        code = main(list(args))
    finally:
        os.chdir(old)
        os.umask(mask)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def v2s_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "vmware2scw.cli", *args]


def run_process(directory: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 60) -> Result:
    """Run `v2s` as a real process in ``directory``."""
    proc = subprocess.run(v2s_cmd(*args), cwd=directory, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def store(directory: Path, name: str = "cloud.json") -> dict[str, Any]:
    path = directory / name
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {
        "objects": {}, "calls": []}
    return data


def live(directory: Path) -> dict[str, int]:
    """Live cloud objects per address."""
    out: dict[str, int] = {}
    for obj in store(directory)["objects"].values():
        if not obj["deleted"]:
            out[obj["address"]] = out.get(obj["address"], 0) + 1
    return out


def creations(directory: Path) -> dict[str, int]:
    """How many times each address was created (not adopted) in the cloud store."""
    out: dict[str, int] = {}
    for call in store(directory)["calls"]:
        if call["op"] == "create":
            out[call["address"]] = out.get(call["address"], 0) + 1
    return out
