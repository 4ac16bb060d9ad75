"""The products/servers catalogue and its availability, plus the marketplace images.

DEV1-S and BASIC3-X2C-4G are the recorded entries verbatim; the other types use
the recorded shape with CPU/RAM from Scaleway's public range and list prices
rounded (not authoritative: tests must not depend on exact prices).
"""

from __future__ import annotations

from typing import Any

GB = 1_000_000_000
GIB = 2**30

# type: (ncpus, ram GiB, hourly EUR, local l_ssd max GB or 0 = Block only, bandwidth Mbit/s)
_TYPES: dict[str, tuple[int, int, float, int, int]] = {
    "BASIC2-A2C-4G": (2, 4, 0.0368, 0, 350),
    "BASIC2-A12C-24G": (12, 24, 0.2208, 0, 2100),
    "BASIC3-X2C-4G": (2, 4, 0.039449, 0, 350),
    "DEV1-S": (2, 2, 0.008976, 20, 200),
    "DEV1-M": (3, 4, 0.0198, 40, 300),
    "DEV1-L": (4, 8, 0.042, 80, 400),
    "DEV1-XL": (4, 12, 0.0638, 120, 500),
    "GP1-XS": (4, 16, 0.091, 150, 500),
    "GP1-S": (8, 32, 0.187, 300, 800),
    "GP1-M": (16, 64, 0.376, 600, 1500),
    "GP1-L": (32, 128, 0.759, 600, 5000),
    "GP1-XL": (48, 256, 1.641, 600, 10000),
    "PLAY2-PICO": (1, 2, 0.014, 0, 100),
    "PLAY2-NANO": (2, 4, 0.027, 0, 200),
    "PLAY2-MICRO": (4, 8, 0.054, 0, 400),
    "PRO2-XXS": (2, 8, 0.055, 0, 350),
    "PRO2-XS": (4, 16, 0.11, 0, 700),
    "PRO2-S": (8, 32, 0.219, 0, 1500),
    "PRO2-M": (16, 64, 0.438, 0, 3000),
    "PRO2-L": (32, 128, 0.877, 0, 6000),
    "POP2-2C-8G": (2, 8, 0.0735, 0, 400),
    "POP2-4C-16G": (4, 16, 0.147, 0, 800),
    "POP2-8C-32G": (8, 32, 0.294, 0, 1600),
    "POP2-16C-64G": (16, 64, 0.59, 0, 3200),
    "POP2-32C-128G": (32, 128, 1.18, 0, 6400),
    "POP2-HM-2C-16G": (2, 16, 0.103, 0, 400),
    "POP2-HC-2C-4G": (2, 4, 0.0532, 0, 400),
    "POP2-2C-8G-WIN": (2, 8, 0.1823, 0, 400),
    "POP2-4C-16G-WIN": (4, 16, 0.3546, 0, 800),
    "POP2-8C-32G-WIN": (8, 32, 0.7093, 0, 1600),
}

# Recorded availability values: available, scarce, shortage.
DEFAULT_AVAILABILITY = dict.fromkeys(_TYPES, "available") | {
    "BASIC2-A12C-24G": "scarce",  # as recorded
    "GP1-XL": "shortage",
}


def _entry(ncpus: int, ram_gib: int, hourly: float, local_gb: int, mbps: int) -> dict[str, Any]:
    bw = mbps * 1_000_000
    return {
        "alt_names": [],
        "arch": "x86_64",
        "ncpus": ncpus,
        "ram": ram_gib * GIB,
        "gpu": 0,
        "gpu_info": None,
        "mig_profile": None,
        "volumes_constraint": {"min_size": 0, "max_size": local_gb * GB},
        "per_volume_constraint": {
            "l_ssd": {"min_size": GB if local_gb else 0, "max_size": 800 * GB if local_gb else 0}
        },
        "scratch_storage_max_size": 0,
        "scratch_storage_max_volumes_count": 0,
        "monthly_price": round(hourly * 730, 5),
        "hourly_price": hourly,
        "capabilities": {
            "boot_types": ["local", "rescue"],
            "placement_groups": True,
            "block_storage": True,
            "hot_snapshots_local_volume": bool(local_gb),
            "private_network": 8,
            "max_file_systems": 0 if local_gb else 1,
        },
        "network": {
            "ipv6_support": True,
            "sum_internal_bandwidth": bw,
            "sum_internet_bandwidth": bw,
            "interfaces": [{"internal_bandwidth": bw, "internet_bandwidth": bw}],
        },
        "block_bandwidth": 104857600 if local_gb else 131072000,
        "end_of_service": False,
    }


def server_types() -> dict[str, dict[str, Any]]:
    """Every commercial type, sorted by name (the API's map order)."""
    types = {name: _entry(*spec) for name, spec in sorted(_TYPES.items())}
    types["DEV1-S"]["monthly_price"] = 6.55248  # recorded value
    types["BASIC3-X2C-4G"]["monthly_price"] = 28.79777  # recorded value
    types["BASIC3-X2C-4G"]["volumes_constraint"]["max_size"] = 0
    return types


# Public marketplace images seen in the recordings: (id, name, root sbs snapshot, size).
MARKETPLACE = [
    ("4481c662-2357-432f-b0fd-dd6470c08c49", "Ubuntu 22.04 Jammy Jellyfish",
     "c75ef419-9a29-4fda-bd73-5de42af425b0", 10 * GB, "2026-05-12T15:06:26.845576+00:00"),
    ("fc4d4e26-849d-4e03-b933-cb1626ca8cad", "Ubuntu 20.04 Focal Fossa",
     "dacec4bb-03fd-4723-ac85-7d8ca6ca83a7", 10 * GB, "2026-05-12T15:20:10.934226+00:00"),
    ("6d3c053e-c728-4294-b23a-560b62a4d592", "Ubuntu 22.04 Jammy Jellyfish",
     "36b4ce54-c67a-4f68-ab74-839515834352", 10 * GB, "2025-09-12T09:11:41.420846+00:00"),
]  # fmt: skip
