"""``RetrievePropertiesEx`` read fast: the raw SOAP answer parsed by ElementTree into light
objects, typed by pyVmomi's type tables (pyVmomi's own deserialiser is ~10x slower).

The light objects read like pyVmomi's for attribute access (an unset property is None),
``is_a`` replaces ``isinstance`` and ``MoRef`` stands for a managed-object reference.
Only reads use this; anything returned to vCenter stays a pyVmomi object.
"""

from __future__ import annotations

import functools
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any, NamedTuple

from v2s_vmware._vmomi import SoapResponseDeserializer, VmomiSupport, vmodl
from v2s_vmware.session import MAX_OBJECTS, Session

VIM = "urn:vim25"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_Q = "{urn:vim25}"


class MoRef(NamedTuple):
    """A managed-object reference: its type name (``VirtualMachine``) and id (``vm-42``)."""

    type: str
    id: str

    @property
    def _moId(self) -> str:  # noqa: N802 - pyVmomi's spelling, so code reads refs the same way
        return self.id


class Data:
    """A vSphere data object read from XML: a field is converted when first read (so the
    many fields nobody reads cost nothing) and kept; unset fields are None (arrays: [])."""

    def __init__(self, vmomi: Any, elem: ET.Element) -> None:
        self.vmomi = vmomi
        self._elem = elem

    def __getattr__(self, name: str) -> Any:  # only for fields not read yet
        if name.startswith("_"):
            raise AttributeError(name)
        kind, ftype = _field(self.vmomi, name)
        if kind == "list":
            found: Any = [value(child, ftype) for child in self._elem.iterfind(_Q + name)]
        else:
            child = self._elem.find(_Q + name)
            found = None if child is None else value(child, ftype)
        self.__dict__[name] = found
        return found


def is_a(value: Any, cls: type) -> bool:
    """``isinstance`` that also knows light objects and references (by pyVmomi class)."""
    if isinstance(value, Data):
        return issubclass(value.vmomi, cls)
    if isinstance(value, MoRef):
        return issubclass(_wsdl(value.type), cls)
    return isinstance(value, cls)


def type_name(value: Any) -> str:
    """pyVmomi's class name of a light object (``vim.vm.device.VirtualDisk``)."""
    return str(value.vmomi.__name__) if isinstance(value, Data) else type(value).__name__


_REFS = {"ManagedObjectReference": "vmodl.ManagedObject",
         "ArrayOfManagedObjectReference": "vmodl.ManagedObject[]"}


@functools.cache
def _wsdl(name: str) -> Any:
    ns, _, local = name.rpartition(":")
    if local in _REFS:
        return VmomiSupport.GetVmodlType(_REFS[local])
    try:
        return VmomiSupport.GetWsdlType(XSD if ns == "xsd" else VIM, local)
    except KeyError:
        return str


@functools.cache
def _kind(cls: Any) -> str:
    """How a value of pyVmomi type ``cls`` is read: list, ref, data, bool, int, float, str."""
    for base, kind in ((list, "list"), (VmomiSupport.ManagedObject, "ref"),
                       (VmomiSupport.DataObject, "data"), (bool, "bool"), (int, "int"),
                       (float, "float")):
        if isinstance(cls, type) and issubclass(cls, base):
            return kind
    return "str"


@functools.cache
def _field(cls: Any, name: str) -> tuple[str, Any]:
    """How field ``cls.name`` is read: ("list", item type) or (kind, type)."""
    try:
        ftype = cls._GetPropertyInfo(name).type
    except (AttributeError, KeyError):  # a field this pyVmomi does not know: text
        return "str", str
    kind = _kind(ftype)
    return (kind, getattr(ftype, "Item", str)) if kind == "list" else (kind, ftype)


def value(elem: ET.Element, declared: Any) -> Any:
    """One XML element as a Python value of ``declared`` type (or its ``xsi:type``)."""
    xsi = elem.get(XSI_TYPE)
    cls = _wsdl(xsi) if xsi else declared
    kind = _kind(cls)
    if kind == "data":
        return Data(cls, elem)
    if kind == "ref" or (elem.get("type") is not None and not len(elem)):
        return MoRef(elem.get("type") or "", elem.text or "")
    if kind == "list":
        item = getattr(cls, "Item", str)
        return [value(child, item) for child in elem]
    text = elem.text or ""
    if kind == "bool":
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    return text


def _invoke(session: Session, method: str, args: list[Any]) -> ET.Element | None:
    """One SOAP call to the PropertyCollector; the ``returnval`` element (None: no result)."""
    stub = session.stub
    collector = session.content.propertyCollector
    info = type(collector)._GetMethodInfo(method)
    body = stub.SerializeRequest(collector, info, args)
    headers = {"Cookie": stub.cookie, "SOAPAction": stub.versionId,
               "Content-Type": "text/xml; charset=UTF-8"}
    conn = stub.GetConnection()
    try:
        conn.request("POST", stub.path, body, headers)
        resp = conn.getresponse()
        data = resp.read()
    except BaseException:
        conn.close()
        stub.DropConnections()
        raise
    stub.ReturnConnection(conn)
    stub.calls += 1
    if resp.status == 500:  # a fault: pyVmomi builds and raises it, as for any call
        fault = SoapResponseDeserializer(stub).Deserialize(io.BytesIO(data), info.result)
        raise fault
    if resp.status != 200:
        raise OSError(f"vCenter answered {resp.status} {resp.reason}")
    root = ET.fromstring(data)  # noqa: S314 - vCenter's answer over verified TLS
    return root.find(f".//{_Q}returnval")


def retrieve(session: Session, objects: Iterable[Any], props: Iterable[Any]
             ) -> list[tuple[MoRef, dict[str, Any]]]:
    """As ``Session.retrieve`` (one RetrievePropertiesEx plus continuations), light values."""
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(objectSet=list(objects), propSet=list(props))
    options = pc.RetrieveOptions(maxObjects=MAX_OBJECTS)

    def run(_content: Any) -> list[tuple[MoRef, dict[str, Any]]]:
        rows: list[tuple[MoRef, dict[str, Any]]] = []
        result: ET.Element | None = _invoke(session, "RetrievePropertiesEx", [[spec], options])
        while result is not None:
            for oc in result.iterfind(f"{_Q}objects"):
                ref = oc.find(f"{_Q}obj")
                assert ref is not None
                found = {}
                for prop in oc.iterfind(f"{_Q}propSet"):
                    val = prop.find(f"{_Q}val")
                    found[prop.findtext(f"{_Q}name") or ""] = (
                        None if val is None else value(val, str))
                rows.append((MoRef(ref.get("type") or "", ref.text or ""), found))
            token = result.findtext(f"{_Q}token")
            result = _invoke(session, "ContinueRetrievePropertiesEx", [token]) if token else None
        return rows

    return session.call(run)
