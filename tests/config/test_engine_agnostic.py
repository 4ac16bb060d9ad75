"""The engine names no provider (DESIGN §12): no plug-in import, and its config, plan and
walker modules hold no plug-in name, resource type name or provider attribute name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from pydantic import BaseModel

from vmware2scw.config.model import Config
from vmware2scw.provider import PRICE_ATTRIBUTE, ComposeRequest, ResourceType
from vmware2scw.registry import available, instantiate
from vmware2scw.walker.model import WalkOptions

ENGINE = Path(__file__).resolve().parents[2] / "vmware2scw"
CHECKED = ("config", "plan", "walker")


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _fields(model: type[BaseModel]) -> set[str]:
    out: set[str] = set()
    for name, info in model.model_fields.items():
        out.add(name)
        for inner in _models(info.annotation):
            out |= _fields(inner)
    return out


def _engine_vocabulary() -> set[str]:
    """Names the engine defines itself: the config file, the protocol, the walker options."""
    return (_fields(Config) | _fields(ResourceType) | _fields(ComposeRequest)
            | _fields(WalkOptions) | {PRICE_ATTRIBUTE})


def _provider_words() -> set[str]:
    """Plug-in names, resource type names, and the attribute and settings names of the
    installed plug-ins that are not part of the engine's own vocabulary."""
    words: set[str] = set()
    vocabulary = _engine_vocabulary()
    for name in available():
        plugin = instantiate(name)
        if name != "test":  # "test" is an ordinary word in an engine
            words.add(name)
        model = plugin.settings_model
        names: set[str] = _fields(model) if model is not None and name != "test" else set()
        for type_name, rtype in plugin.resource_types().items():
            words.add(type_name)
            names |= rtype.attribute_names()
        words |= {n for n in names - vocabulary if "_" in n}  # specific enough to be a leak
    return words


def test_engine_imports_no_plugin() -> None:
    pattern = re.compile(r"^\s*(from|import) v2s_", re.MULTILINE)
    offenders = [str(p) for p in ENGINE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_config_plan_walker_name_no_provider_or_provider_attribute() -> None:
    words = _provider_words()
    assert {"vmware", "scaleway", "scw_server", "snapshot_moref", "transit_bucket"} <= words
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b")
    hits = []
    for folder in CHECKED:
        for path in sorted((ENGINE / folder).rglob("*.py")):
            for no, line in enumerate(path.read_text().splitlines(), 1):
                found = pattern.findall(line)
                if found:
                    hits.append(f"{path.relative_to(ENGINE)}:{no}: {sorted(set(found))}")
    assert hits == []
