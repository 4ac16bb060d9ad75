"""Refresh: one batched read per provider; gone objects dropped; tombstones not read."""

from __future__ import annotations

from collections.abc import Mapping

from v2s_test.provider import TestProvider

from vmware2scw.diagnostics import Severity
from vmware2scw.errors import ProviderError
from vmware2scw.provider import ReadRequest, ReadResponse
from vmware2scw.refresh import refresh
from vmware2scw.state.model import ResourceState, State, Status


class _Reader(TestProvider):
    def __init__(self, answers: Mapping[str, dict | None], fail: bool = False) -> None:
        super().__init__()
        self.answers = answers
        self.requests: list[ReadRequest] = []
        self.fail = fail

    def read(self, req: ReadRequest) -> ReadResponse:
        self.requests.append(req)
        if self.fail:
            raise ProviderError("API down", hint="try later")
        return ReadResponse(attributes={r.address: self.answers.get(r.address, r.attributes)
                                        for r in req.resources})


def _rs(address: str, provider: str, status: Status = Status.CREATED, **attrs: object):
    return ResourceState(address=address, type="scw_server", provider=provider,
                         attributes=dict(attrs), status=status)


def _state() -> State:
    s = State(lineage="L", serial=3)
    for rs in [_rs("a", "scaleway", id="1"), _rs("b", "scaleway", id="2"),
               _rs("c", "scaleway", id="3"), _rs("t", "vmware", Status.TRANSIENT_DONE, p="x"),
               _rs("v", "vmware", id="9")]:
        s = s.with_resource(rs)
    return s


def test_one_read_per_provider_gone_dropped_tombstones_skipped():
    scw = _Reader({"a": {"id": "1", "state": "stopped", "secret": "pw"}, "b": None})
    vmw = _Reader({})
    new, diags = refresh(_state(), {"scaleway": scw, "vmware": vmw})
    assert diags == []
    assert len(scw.requests) == 1 and len(vmw.requests) == 1
    assert [r.address for r in vmw.requests[0].resources] == ["v"]
    assert "b" not in new.resources and "t" in new.resources
    assert new.resources["a"].attributes == {"id": "1", "state": "stopped"}  # secret dropped
    assert new.serial == 3 and new.lineage == "L"


def test_failing_or_missing_provider_keeps_records_and_reports():
    new, diags = refresh(_state(), {"scaleway": _Reader({}, fail=True)})
    assert new.resources == _state().resources
    severities = sorted(d.severity for d in diags)
    assert severities == [Severity.ERROR, Severity.WARNING]
    assert any("API down" in d.summary for d in diags)
    assert any("'vmware' is not configured" in d.summary for d in diags)


def test_tainted_record_reported_gone_is_kept_for_resume():
    state = _state().with_resource(
        _rs("a", "scaleway", Status.TAINTED, id=None).model_copy(update={"checkpoint": {"n": 1}}))
    new, _ = refresh(state, {"scaleway": _Reader({"a": None}), "vmware": _Reader({})})
    assert new.resources["a"].checkpoint == {"n": 1}
