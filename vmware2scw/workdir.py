"""The work directory and every folder v2s makes under it: private (mode 0700)."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

DEFAULT_WORK_DIR = ".v2s"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700, tightening it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)
    return path


def safe_name(text: str, limit: int = 80) -> str:
    """A file-name-safe form of any text (addresses, VM names) with a short hash suffix."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "x"
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{cleaned[:limit]}-{digest}"


def resource_dir(work_dir: Path, address: str) -> Path:
    """The private directory of one resource (its artifacts, partial downloads)."""
    private_dir(work_dir)
    private_dir(work_dir / "resources")
    return private_dir(work_dir / "resources" / safe_name(address))


def temp_dir(work_dir: Path, prefix: str = "tmp-") -> Path:
    """A fresh private temporary directory inside the work dir (mkdtemp is 0700)."""
    private_dir(work_dir)
    base = private_dir(work_dir / "tmp")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
