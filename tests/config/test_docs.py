"""docs/config.md documents every field of the config models."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from vmware2scw.config.model import Config, MigrationConfig, Settings, Variable

DOC = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()


def _paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(_paths(ann, f"{prefix}{name}."))
        else:
            out.append(prefix + name)
    return out


def test_every_migration_field_is_in_the_reference() -> None:
    missing = [p for p in _paths(MigrationConfig) if f"`{p}`" not in DOC]
    assert not missing, f"docs/config.md does not document {missing}"


def test_every_top_level_settings_and_variable_key_is_documented() -> None:
    keys = [*Config.model_fields, *Settings.model_fields, *Variable.model_fields]
    missing = [k for k in keys if f"`{k}`" not in DOC]
    assert not missing, f"docs/config.md does not document {missing}"


def test_every_s3_backend_key_is_documented() -> None:
    from vmware2scw.config.model import S3BackendConfig

    missing = [k for k in S3BackendConfig.model_fields if f"| `{k}` |" not in DOC]
    assert not missing, f"docs/config.md does not document backend.s3 {missing}"
