"""`v2s state list|show|rm|mv|pull|push` and `force-unlock`, without the CLI."""

from __future__ import annotations

import pytest

from tests.state.conftest import BackendFactory, resource
from vmware2scw.errors import LockError, StateError
from vmware2scw.state import codec, commands
from vmware2scw.state.lock import LockInfo
from vmware2scw.state.model import State

ADDRESSES = [
    "migration.web-01.vmware_snapshot",
    "migration.web-01.disk_export[0]",
    "migration.web-01.disk_export[1]",
    "migration.web-01.scw_server",
    "migration.web-010.scw_server",
    'migration.app["app-03"].scw_server',
    'migration.app["app-04"].scw_server',
]


def chain() -> State:
    state = State(serial=5, lineage="00000000-0000-4000-8000-000000000001")
    for a in ADDRESSES:
        deps = ("migration.web-01.disk_export[0]",) if a == "migration.web-01.scw_server" else ()
        rs = resource(a, name=a).model_copy(
            update={"dependencies": deps, "migration": a.split(".")[1].split("[")[0]}
        )
        state = state.with_resource(rs)
    return state


@pytest.fixture
def stored(make_backend: BackendFactory) -> BackendFactory:
    make_backend().write(chain())
    return make_backend


def test_list_selects_exact_partial_and_glob() -> None:
    state = chain()
    assert commands.list_addresses(state) == sorted(ADDRESSES)
    assert commands.list_addresses(state, ["migration.web-01"]) == sorted(ADDRESSES[:4])
    assert commands.list_addresses(state, ["migration.web-01.disk_export"]) == sorted(
        ADDRESSES[1:3]
    )
    assert commands.list_addresses(state, ["migration.app"]) == sorted(ADDRESSES[5:])
    assert commands.list_addresses(state, ["*.scw_server"]) == sorted(
        a for a in ADDRESSES if a.endswith("scw_server")
    )
    assert commands.list_addresses(state, ["migration.web-01.disk_export[1]"]) == [ADDRESSES[2]]


def test_show_gives_the_record_or_a_suggestion() -> None:
    state = chain()
    assert commands.show_resource(state, ADDRESSES[3])["address"] == ADDRESSES[3]
    with pytest.raises(StateError, match=r"did you mean migration\.web-01\.scw_server"):
        commands.show_resource(state, "migration.web-01.scw_servr")


def test_rm_forgets_selected_resources(stored: BackendFactory) -> None:
    gone = commands.rm(stored(), ["migration.web-01.disk_export", "migration.app"])
    assert gone == sorted([*ADDRESSES[1:3], *ADDRESSES[5:]])
    after = stored().read()
    assert after is not None and after.serial == 6
    assert sorted(after.resources) == sorted([ADDRESSES[0], ADDRESSES[3], ADDRESSES[4]])
    with pytest.raises(StateError, match="no resource in the state matches"):
        commands.rm(stored(), ["migration.nothing"])
    assert stored().current_lock() is None


def test_mv_renames_a_migration_and_rewrites_dependencies(stored: BackendFactory) -> None:
    moves = commands.mv(stored(), "migration.web-01", "migration.web-1")
    assert len(moves) == 4
    after = stored().read()
    assert after is not None
    server = after.resources["migration.web-1.scw_server"]
    assert server.dependencies == ("migration.web-1.disk_export[0]",)
    assert server.migration == "web-1"
    assert "migration.web-010.scw_server" in after.resources  # a longer name is not below it
    assert not commands.list_addresses(after, ["migration.web-01"])


def test_mv_refusals(stored: BackendFactory) -> None:
    with pytest.raises(StateError, match="already exists"):
        commands.mv(stored(), "migration.web-01.scw_server", "migration.web-010.scw_server")
    with pytest.raises(StateError, match="type must stay the same"):
        commands.mv(stored(), "migration.web-01.scw_server", "migration.x.scw_image")
    with pytest.raises(StateError, match="not patterns"):
        commands.mv(stored(), "migration.*", "migration.x")
    assert stored().read() == chain()


def test_pull_and_push(stored: BackendFactory) -> None:
    data = commands.pull(stored())
    assert codec.loads(data, "pulled") == chain()
    edited = codec.loads(data, "pulled").without(ADDRESSES[0])
    pushed = commands.push(stored(), codec.dumps(edited), "edited.json")
    assert pushed.serial == 6
    assert stored().read() == pushed


def test_push_refuses_another_lineage_and_an_older_serial(stored: BackendFactory) -> None:
    with pytest.raises(StateError, match="differs from") as other:
        commands.push(stored(), codec.dumps(State(serial=99)), "other.json")
    assert "-force" in str(other.value)
    older = chain().model_copy(update={"serial": 2})
    with pytest.raises(StateError, match="serial 2 is older than"):
        commands.push(stored(), codec.dumps(older), "old.json")
    forced = commands.push(stored(), codec.dumps(State(serial=1)), "other.json", force=True)
    assert stored().read() == forced


def test_commands_that_change_the_state_respect_the_lock(stored: BackendFactory) -> None:
    holder = stored()
    info = LockInfo.new("apply")
    holder.lock(info)
    with pytest.raises(LockError, match=info.id):
        commands.rm(stored(), [ADDRESSES[0]])
    with pytest.raises(LockError, match=info.id):
        commands.push(stored(), commands.pull(stored()), "same.json")
    with pytest.raises(StateError, match=info.id):
        commands.force_unlock(stored(), "other-id")
    assert commands.force_unlock(stored(), info.id) == info
    assert commands.rm(stored(), [ADDRESSES[0]]) == [ADDRESSES[0]]


def test_pull_of_nothing_is_an_error(make_backend: BackendFactory) -> None:
    with pytest.raises(StateError, match="there is no state yet"):
        commands.pull(make_backend())


def test_a_corrupt_state_is_restored_from_its_backup_with_push_force(
    stored: BackendFactory,
) -> None:
    backend = stored()
    backend.write_bytes(b"{ not json")
    with pytest.raises(StateError, match="push -force"):
        backend.read()
    with pytest.raises(StateError, match="not a valid v2s state"):
        commands.push(stored(), codec.dumps(chain()), "backup.json")
    backup = stored().read_backup()
    assert backup == chain()
    restored = commands.push(stored(), codec.dumps(backup), "backup.json", force=True)
    assert stored().read() == restored
    assert restored.lineage == chain().lineage
