"""load(): validation, unknown keys, variables, env, defaults, sensitive tracking."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmware2scw.config import ConfigError, load, loads

BASE = """v2s: 1
migrations:
  web-01:
    source: { vm: web-server-01 }
    target: { type: PRO2-S }
"""


def test_minimal_config_loads_with_defaults() -> None:
    cfg = loads(BASE).config
    mig = cfg.migrations["web-01"]
    assert mig.source.provider is None and mig.target.zone == "fr-par-1"  # bound at expansion
    assert mig.target.public_ip is True and cfg.settings.parallelism == 10
    assert cfg.backend is None


def test_load_from_file_reports_the_given_name(tmp_path: Path) -> None:
    path = tmp_path / "v2s.yaml"
    path.write_text(BASE.replace("PRO2-S }", "PRO2-S, volume: x }"))
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert str(info.value).startswith(f"{path}:5:29: unknown key 'volume'")
    assert "did you mean 'volume_type'?" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "v2s: 1\nmigratons: {}\n",
            "v2s.yaml:2:1: unknown top-level key 'migratons'; did you mean",
        ),
        ("v2s: 2\n", "v2s.yaml:1:6: v2s: Input should be 1"),
        ("migrations: {}\n", "v2s.yaml:1:1: missing required key 'v2s'"),
        (
            BASE + "    verify: { tcp: [22, 70000] }\n",
            "v2s.yaml:6:25: migrations.web-01.verify.tcp[1]",
        ),
        (
            BASE + "    priority: high\n",
            "v2s.yaml:6:15: migrations.web-01.priority: Input should be",
        ),
        (BASE + "    convert: { network: static }\n", "v2s.yaml:6:25: migrations.web-01.convert"),
        ("v2s: 1\nbackend: {}\n", "v2s.yaml:2:10: backend: needs exactly one of 'local' or 's3'"),
        ("v2s: 1\nbackend: { s3: { bucket: b } }\n", "v2s.yaml:2:12: missing required key 'key'"),
        ("- a\n", "v2s.yaml:1:1: expected a mapping at the top level"),
        ("", "v2s.yaml:1:1: the file is empty"),
        (
            "v2s: 1\nmigrations:\n  'bad name': { source: { vm: x } }\n",
            "v2s.yaml:3:3: migration name 'bad name'",
        ),
        (
            "v2s: 1\nproviders:\n  vmware: [a]\n",
            "v2s.yaml:3:11: provider 'vmware' must be a mapping",
        ),
    ],
)
def test_validation_errors_point_at_the_value(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(text)
    assert str(info.value).startswith(expected), str(info.value)


def test_every_error_is_listed_sorted() -> None:
    text = BASE + "    priority: x\n    cutover: { power_off_source: maybe }\n"
    with pytest.raises(ConfigError) as info:
        loads(text)
    lines = str(info.value).splitlines()
    assert [ln.split(": ")[0] for ln in lines] == ["v2s.yaml:6:15", "v2s.yaml:7:34"]


VARS = """v2s: 1
variables:
  zone: { type: string, default: fr-par-1 }
  count: { type: number, default: 1 }
  tags: { type: list, default: [a] }
  on: { type: bool, default: false }
migrations:
  web:
    source: { vm: "vm-${var.zone}" }
    target: { type: PRO2-S, zone: "${var.zone}", tags: "${var.tags}", public_ip: "${var.on}" }
    priority: "${var.count}"
"""


def test_variables_keep_their_type_when_they_are_the_whole_value() -> None:
    mig = loads(VARS).config.migrations["web"]
    assert mig.source.vm == "vm-fr-par-1" and mig.target.tags == ["a"]
    assert mig.target.public_ip is False and mig.priority == 1


def test_variable_precedence(tmp_path: Path) -> None:
    f1 = tmp_path / "a.yaml"
    f1.write_text("zone: from-file-1\ncount: 5\n")
    f2 = tmp_path / "b.yaml"
    f2.write_text("zone: from-file-2\n")
    files = [str(f1), str(f2)]

    def zone(**kw: object) -> tuple[str, int]:
        mig = loads(VARS, **kw).config.migrations["web"]
        return mig.target.zone, mig.priority

    assert zone() == ("fr-par-1", 1)
    assert zone(var_files=files) == ("from-file-2", 5)
    env = {"V2S_VAR_zone": "from-env", "V2S_VAR_count": "7"}
    assert zone(var_files=files, environ=env) == ("from-env", 7)
    assert zone(var_files=files, environ=env, var_args=["zone=cli-1", "zone=cli-2"]) == ("cli-2", 7)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"var_args": ["zonee=x"]}, "<command line>:1:1: -var sets 'zonee' but no such variable"),
        ({"var_args": ["count=many"]}, "<command line>:1:1: expected a number, got 'many'"),
        ({"var_args": ["on=perhaps"]}, "<command line>:1:1: expected true or false"),
        ({"var_args": ["tags={a: 1}"]}, "<command line>:1:1: expected a list"),
        ({"var_args": ["novalue"]}, "<command line>:1:1: -var argument: expected name=value"),
        ({"var_args": ["bad name=1"]}, "<command line>:1:1: -var 'bad name': expected name=value"),
        ({"var_args": ["zone=a", "pw hunter2"]}, "<command line>:1:2: -var argument: expected"),
        ({"environ": {"V2S_VAR_count": "x"}}, "<environment>:1:1: expected a number"),
    ],
)
def test_bad_variable_values(kw: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(VARS, **kw)
    assert str(info.value).startswith(expected), str(info.value)


def test_var_file_errors_point_into_the_var_file(tmp_path: Path) -> None:
    f = tmp_path / "vars.yaml"
    f.write_text("zone: ok\ncount: [1]\n")
    with pytest.raises(ConfigError, match=r"vars\.yaml:2:8: variable 'count': expected a number"):
        loads(VARS, var_files=[str(f)])
    f.write_text("zonne: x\n")
    with pytest.raises(ConfigError, match=r"vars\.yaml:1:1: -var-file sets 'zonne'.*'zone'"):
        loads(VARS, var_files=[str(f)])


def test_list_and_map_variables_from_the_command_line() -> None:
    mig = loads(VARS, var_args=["tags=[x, y]"]).config.migrations["web"]
    assert mig.target.tags == ["x", "y"]


def test_variable_without_value() -> None:
    text = "v2s: 1\nvariables:\n  pn: { type: string }\n"
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:3:3: variable 'pn' has no value"):
        loads(text)
    assert loads(text, var_args=["pn=pn-1"]).variables["pn"].value == "pn-1"


def test_undeclared_variable_suggests_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:9:23: .*'var\.zon'; did you mean 'zone'"):
        loads(VARS.replace("vm-${var.zone}", "vm-${var.zon}"))


def test_env_references() -> None:
    text = BASE.replace("web-server-01", "'${env.VM_NAME}'")
    assert loads(text, environ={"VM_NAME": "a"}).config.migrations["web-01"].source.vm == "a"
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:4:20: environment variable 'VM_NAME' is"):
        loads(text, environ={})


def test_escapes_survive_until_resolution_and_vars_cannot_inject_references() -> None:
    text = BASE.replace("PRO2-S }", 'PRO2-S, name: "a-$${b}-${var.n}" }') + (
        "variables:\n  n: { default: '${migration.x.scw_server.id}' }\n"
    )
    name = loads(text).config.migrations["web-01"].target.name
    assert name == "a-$${b}-$${migration.x.scw_server.id}"


def test_escape_in_source_and_providers_is_unescaped() -> None:
    text = BASE.replace("web-server-01", "'a$${b}'") + "providers:\n  vmware: { x: 'p$${q}' }\n"
    cfg = loads(text).config
    assert cfg.migrations["web-01"].source.vm == "a${b}"
    assert cfg.providers["vmware"]["x"] == "p${q}"


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("source: { vm: '${migration.a.scw_server.id}' }", "resource references are not allowed"),
        ("source: { vm: '${local.x}' }", "unknown reference '${local.x}'"),
        ("source: { vm: 'a ${var.x' }", "unterminated '${'"),
        ("target: { name: '${migration.a}' }", "must name a resource and an attribute"),
    ],
)
def test_bad_expressions(snippet: str, expected: str) -> None:
    text = BASE.replace("source: { vm: web-server-01 }", snippet)
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:4:\d+: ") as info:
        loads(text.replace("    target: { type: PRO2-S }\n", ""))
    assert expected in str(info.value)


def test_defaults_are_deep_merged_and_positions_point_at_defaults() -> None:
    text = """v2s: 1
defaults:
  target: { type: PRO2-S, tags: [d], network_mapping: { a: pn-a } }
  cutover: { power_off_source: true }
  priority: 3
migrations:
  web:
    source: { vm: w }
    target: { network_mapping: { b: pn-b } }
    priority: 1
  db:
    source: { vm: d }
"""
    cfg = loads(text).config
    assert cfg.migrations["web"].target.network_mapping == {"a": "pn-a", "b": "pn-b"}
    assert cfg.migrations["web"].target.type == "PRO2-S" and cfg.migrations["web"].priority == 1
    assert cfg.migrations["db"].priority == 3 and cfg.migrations["db"].cutover.power_off_source
    bad = text.replace("power_off_source: true", "power_off_source: 3")
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:4:32: defaults\.cutover[^\n]*\Z"):
        loads(bad)


def test_sensitive_variables_only_in_providers() -> None:
    text = BASE + "variables:\n  pw: { sensitive: true, default: s3cr3t }\n"
    ok = loads(text + "providers:\n  vmware: { password: '${var.pw}' }\n")
    assert ("providers", "vmware", "password") in ok.sensitive_paths
    with pytest.raises(ConfigError) as info:
        loads(text.replace("PRO2-S }", "PRO2-S, name: 'n-${var.pw}' }"))
    assert "sensitive" in str(info.value) and "s3cr3t" not in str(info.value)


def test_sensitive_bad_value_is_not_echoed() -> None:
    text = "v2s: 1\nvariables:\n  pin: { type: number, sensitive: true, default: 1 }\n"
    with pytest.raises(ConfigError) as info:
        loads(text, var_args=["pin=hunter2"])
    assert "hunter2" not in str(info.value)


def test_empty_blocks_mean_empty_mappings() -> None:
    text = """v2s: 1
variables:
providers:
  qemu:
backend:
defaults:
  verify:
migrations:
  web:
    source: { vm: w }
    target:
    cutover:
"""
    cfg = loads(text).config
    assert cfg.providers == {"qemu": {}} and cfg.backend is None
    assert cfg.migrations["web"].target.zone == "fr-par-1"
    with pytest.raises(ConfigError, match=r"^v2s\.yaml:3:3: missing required key 'source'"):
        loads("v2s: 1\nmigrations:\n  web:\n")
