"""The `qemu` provider: converts exported VMware disks into qcow2 images that boot on Scaleway."""

DEFAULT_FOR = ("converter",)  # entry point vmware2scw.default_roles: the converter when unbound
