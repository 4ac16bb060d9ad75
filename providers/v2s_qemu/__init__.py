"""The `qemu` provider: converts exported VMware disks into qcow2 images that boot on Scaleway."""
