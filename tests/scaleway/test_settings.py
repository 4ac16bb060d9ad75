"""Credentials: provider block, then SCW_* environment, then the config file profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from v2s_scaleway.settings import ScalewaySettings, parse_settings, resolve_credentials

from vmware2scw.errors import ConfigError

FILE_SECRET = "ffffffff-0000-0000-0000-000000000001"
ENV_SECRET = "eeeeeeee-0000-0000-0000-000000000002"
CFG_SECRET = "cccccccc-0000-0000-0000-000000000003"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "access_key: SCWDEFAULT0000000000\n"
        f"secret_key: {FILE_SECRET}\n"
        "default_zone: nl-ams-1\n"
        "default_project_id: 00000000-0000-0000-0000-00000000000a\n"
        "profiles:\n"
        "  lab:\n"
        "    secret_key: 99999999-0000-0000-0000-000000000009\n"
        "    api_url: http://127.0.0.1:1234/\n"
        "    default_zone: pl-waw-2\n"
    )
    return path


def test_config_file_default_profile(cfg: Path) -> None:
    c = resolve_credentials(ScalewaySettings(config_file=cfg), environ={})
    assert c.secret_key is not None and c.secret_key.get_secret_value() == FILE_SECRET
    assert (c.zone, c.region, c.api_url) == ("nl-ams-1", "nl-ams", "https://api.scaleway.com")


def test_named_profile_from_setting_or_env(cfg: Path) -> None:
    c = resolve_credentials(ScalewaySettings(config_file=cfg, profile="lab"), environ={})
    assert c.api_url == "http://127.0.0.1:1234" and c.zone == "pl-waw-2"
    assert c.access_key == "SCWDEFAULT0000000000"  # inherited from the top level
    c2 = resolve_credentials(ScalewaySettings(), environ={"SCW_CONFIG_PATH": str(cfg),
                                                          "SCW_PROFILE": "lab"})
    assert c2.zone == "pl-waw-2"


def test_env_overrides_file_and_block_overrides_env(cfg: Path) -> None:
    env = {"SCW_CONFIG_PATH": str(cfg), "SCW_SECRET_KEY": ENV_SECRET,
           "SCW_DEFAULT_ZONE": "fr-par-2"}
    c = resolve_credentials(ScalewaySettings(), environ=env)
    assert c.secret_key is not None and c.secret_key.get_secret_value() == ENV_SECRET
    assert c.zone == "fr-par-2"
    c = resolve_credentials(ScalewaySettings(secret_key=CFG_SECRET, zone="fr-par-3"), environ=env)
    assert c.secret_key is not None and c.secret_key.get_secret_value() == CFG_SECRET
    assert c.zone == "fr-par-3"


def test_unknown_profile_names_the_known_ones(cfg: Path) -> None:
    with pytest.raises(ConfigError, match="lab"):
        resolve_credentials(ScalewaySettings(config_file=cfg, profile="prod"), environ={})


def test_no_file_no_env_gives_no_secret(tmp_path: Path) -> None:
    c = resolve_credentials(ScalewaySettings(), environ={"SCW_CONFIG_PATH": str(tmp_path / "x")})
    assert c.secret_key is None and c.zone == "fr-par-1"


def test_secrets_never_show_in_repr_or_errors(cfg: Path) -> None:
    st = ScalewaySettings(secret_key=CFG_SECRET)
    c = resolve_credentials(st, environ={"SCW_CONFIG_PATH": str(cfg)})
    assert CFG_SECRET not in repr(st) and CFG_SECRET not in repr(c) and CFG_SECRET not in str(c)
    with pytest.raises(ConfigError) as err:
        parse_settings({"secret_key": CFG_SECRET, "upload_concurrency": "many"})
    assert CFG_SECRET not in str(err.value) and "upload_concurrency" in str(err.value)


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="trasit_bucket"):
        parse_settings({"trasit_bucket": "x"})


def test_profile_default_without_a_config_file_is_not_an_error(tmp_path: Path) -> None:
    env = {"SCW_CONFIG_PATH": str(tmp_path / "absent.yaml"), "SCW_SECRET_KEY": ENV_SECRET}
    c = resolve_credentials(ScalewaySettings(profile="default"), environ=env)
    assert c.secret_key is not None
    with pytest.raises(ConfigError, match="not found"):
        resolve_credentials(ScalewaySettings(profile="prod"), environ=env)
