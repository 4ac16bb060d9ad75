"""The `vmware` provider: vSphere inventory, validation, snapshots and disk export (pyvmomi)."""
