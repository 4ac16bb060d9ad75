"""backend.s3: every option the S3 state backend supports; credentials only from ${env.*}."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmware2scw.config import ConfigError, expand, loads
from vmware2scw.errors import StateError
from vmware2scw.provider import InventoryResponse
from vmware2scw.state.backend import from_config
from vmware2scw.state.s3 import S3Backend

FULL = """v2s: 1
backend:
  s3:
    bucket: v2s-state
    key: prod/v2s.json
    region: nl-ams
    endpoint: https://s3.example.test
    profile: prod
    access_key: ${env.STATE_AK}
    secret_key: ${env.STATE_SK}
    verify: /etc/ssl/ca.pem
    addressing_style: path
    request_checksum_calculation: when_supported
    response_checksum_validation: when_supported
"""
ENV = {"STATE_AK": "SCWAKEXAMPLE00000000", "STATE_SK": "sk-very-secret-1234"}


def test_every_s3_option_reaches_the_backend(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "credentials").write_text("[prod]\naws_access_key_id = P\n"
                                          "aws_secret_access_key = Q\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    cfg = loads(FULL, environ=ENV).config
    assert cfg.backend is not None and cfg.backend.s3 is not None
    s3 = cfg.backend.s3
    assert (s3.profile, s3.verify, s3.addressing_style) == ("prod", "/etc/ssl/ca.pem", "path")
    assert s3.secret_key == ENV["STATE_SK"] and ENV["STATE_SK"] not in repr(s3)
    backend = from_config(cfg.backend.model_dump(exclude_none=True), Path())
    assert isinstance(backend, S3Backend) and backend.endpoint_url == "https://s3.example.test"
    client = backend._client
    creds = client._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == (ENV["STATE_AK"], ENV["STATE_SK"])
    assert client.meta.config.s3 == {"addressing_style": "path"}
    assert client.meta.config.request_checksum_calculation == "when_supported"
    assert client.meta.config.response_checksum_validation == "when_supported"


def test_an_unknown_profile_is_a_state_error_naming_it(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    cfg = loads(FULL.replace("    access_key: ${env.STATE_AK}\n", "").replace(
        "    secret_key: ${env.STATE_SK}\n", ""), environ=ENV).config
    assert cfg.backend is not None
    with pytest.raises(StateError) as info:
        from_config(cfg.backend.model_dump(exclude_none=True), Path())
    assert "profile 'prod' not found" in str(info.value)


@pytest.mark.parametrize("value", ["SCWAKLITERAL", "${var.sk}", "x-${env.STATE_SK}",
                                   "$${env.STATE_SK}"])
def test_credentials_written_in_the_file_are_refused_with_the_position(value: str) -> None:
    text = FULL.replace("${env.STATE_SK}", f'"{value}"')
    text = "variables: { sk: { default: s, sensitive: true } }\n" + text
    with pytest.raises(ConfigError) as info:
        loads(text, environ=ENV)
    message = str(info.value)
    assert message.startswith("v2s.yaml:11:17: backend.s3.secret_key must be one ${env.NAME}")
    assert value.replace("$$", "$") not in message or value == "${env.STATE_SK}"


def test_the_secret_does_not_change_the_config_digest() -> None:
    def digest(environ: dict[str, str]) -> str:
        text = FULL + "providers: { vmware: { source: test } }\n"
        desired, _ = expand(loads(text, environ=environ), lineage="l",
                            inventory=lambda _n, _p: InventoryResponse())
        return desired.config_digest

    assert digest(ENV) == digest({**ENV, "STATE_SK": "rotated-secret"})
