"""Every exception class a provider defines derives from the one base, as errors.py draws it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import vmware2scw.errors
from vmware2scw.errors import ProviderError

PROVIDERS = ("v2s_qemu", "v2s_scaleway", "v2s_test", "v2s_vmware")


def _exception_classes(package: str) -> list[type[BaseException]]:
    pkg = importlib.import_module(package)
    found = []
    for info in pkgutil.iter_modules(pkg.__path__, f"{package}."):
        module = importlib.import_module(info.name)
        found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, BaseException) and obj.__module__ == info.name]
    return found


@pytest.mark.parametrize("package", PROVIDERS)
def test_provider_exceptions_derive_from_provider_error(package: str) -> None:
    for cls in _exception_classes(package):
        assert issubclass(cls, ProviderError), f"{cls.__module__}.{cls.__qualname__}"
        assert cls.__name__ in (vmware2scw.errors.__doc__ or ""), f"{cls.__name__} not drawn"
