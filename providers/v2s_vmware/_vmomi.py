"""pyVmomi's dynamic types, seen by the type checker as ``Any`` (its stubs are partial)."""

from typing import Any

from pyVmomi import VmomiSupport as _VmomiSupport
from pyVmomi import vim as _vim
from pyVmomi import vmodl as _vmodl
from pyVmomi.SoapAdapter import SoapResponseDeserializer as _Deserializer
from pyVmomi.SoapAdapter import SoapStubAdapter as _Stub

vim: Any = _vim
vmodl: Any = _vmodl
SoapStubAdapter: Any = _Stub
SoapResponseDeserializer: Any = _Deserializer
VmomiSupport: Any = _VmomiSupport
