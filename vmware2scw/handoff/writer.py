"""The hand-off directory: versions.tf, one .tf per migration, imports.tf and a README.

The directory must be new or empty (v2s never overwrites Terraform files); files are
written into a temporary sibling first and moved into place together.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from vmware2scw import __version__
from vmware2scw.errors import ConfigError, V2SError
from vmware2scw.handoff import hcl
from vmware2scw.provider import HandoffResponse, IacResource

TERRAFORM_VERSION = ">= 1.5.0"  # `import` blocks in configuration came with Terraform 1.5


def check_out_dir(out: Path) -> None:
    """Refuse an existing file, or a directory that is not empty."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-out {out}: exists and is not a directory",
                          hint="name a new directory for the Terraform files")
    if out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"-out {out}: the directory exists and is not empty",
                          hint="name a new or empty directory: v2s never overwrites "
                               "Terraform files")


def render(responses: Sequence[HandoffResponse], migration_of: Mapping[str, str],
           names: Mapping[str, str], lineage: str) -> dict[str, str]:
    """File name -> text. ``migration_of`` maps record address -> migration."""
    resources = [r for resp in responses for r in resp.resources]
    _check_unique(resources)
    providers: dict[str, dict[str, str]] = {}
    for resp in responses:
        providers.update(resp.required_providers)
    by_migration: dict[str, list[IacResource]] = defaultdict(list)
    for r in resources:
        by_migration[migration_of[r.address]].append(r)
    files = {"versions.tf": hcl.versions_block(providers, TERRAFORM_VERSION)}
    imports: list[str] = []
    for migration in sorted(by_migration):
        mine = by_migration[migration]
        header = f"# migration.{migration}, handed off by v2s (state lineage {lineage})\n\n"
        files[f"{names[migration]}.tf"] = header + "\n".join(hcl.resource_block(r)
                                                             for r in mine)
        imports.append(f"# migration.{migration}\n" + "\n".join(hcl.import_block(r)
                                                                 for r in mine))
    files["imports.tf"] = "\n".join(imports)
    notes = [n for resp in responses for n in resp.notes]
    files["README.md"] = readme(sorted(by_migration), names, len(resources), notes, lineage)
    return files


def _check_unique(resources: Sequence[IacResource]) -> None:
    seen: set[str] = set()
    for r in resources:
        key = f"{r.type}.{r.name}"
        if key in seen:
            raise V2SError(f"two objects would both be named {key} (migration keys that "
                           "clean up alike)", hint="hand them off separately with -target")
        if not r.import_id:
            raise V2SError(f"{key} has no import ID (a bug in its provider)", address=r.address)
        seen.add(key)


def readme(migrations: Sequence[str], names: Mapping[str, str], count: int,
           notes: Sequence[str], lineage: str) -> str:
    """What to run, in order, and what each step must show."""
    targets = " ".join(f"-target 'migration.{m}'" for m in migrations)
    listed = "\n".join(f"- `migration.{m}` → `{names[m]}.tf`" for m in migrations)
    extra = "".join(f"\n- {n}" for n in notes)
    return f"""# Terraform hand-off from v2s

Written by `v2s handoff terraform` (v2s {__version__}) from the state with lineage
`{lineage}`. It describes what v2s created for these migrations
as Terraform resources, with one `import` block each ({count} objects):

{listed}

`versions.tf` pins the providers; `imports.tf` holds the import blocks
(Terraform {TERRAFORM_VERSION}).

## Steps

1. Copy these files into your Terraform configuration (or use this directory).
2. `terraform init`
3. `terraform plan` must show **only imports**:
   `Plan: {count} to import, 0 to add, 0 to change, 0 to destroy.`
   Anything else (but the exceptions under Notes) means the objects changed since
   the hand-off was written: do not apply; write it again with
   `v2s handoff terraform` into a new directory.
4. `terraform apply` records the objects in Terraform's state (nothing in the cloud
   changes). The import blocks can be deleted afterwards.
5. Tell v2s to stop managing them:

       v2s handoff done {targets}

   Its plans then show no change for them and `v2s destroy` never deletes them;
   v2s keeps a record so it cannot create them a second time.

## Notes
{extra or chr(10) + "- none"}
"""


def write(out: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` into ``out`` (new or empty) all at once."""
    check_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.v2s-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    if out.is_dir():
        out.rmdir()
    tmp.rename(out)
