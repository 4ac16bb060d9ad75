"""The `vmware` provider: vSphere inventory, validation, snapshots and disk export (pyvmomi)."""

DEFAULT_FOR = ("source",)  # entry point vmware2scw.default_roles: the source when unbound
