"""Make an extracted Debian root look like a VM installed on VMware (runs in a chroot).

Everything here is what a typical vSphere-hosted Debian server carries: /dev/sdX names
in fstab and GRUB, a static address on ens192, open-vm-tools, an initramfs built
from a fixed module list with no virtio driver, and no serial console. A small
marker service prints the root device, the IPv4 address and the tools state on ttyS0.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

STATIC_IP = "192.168.50.10"
STATIC_PREFIX = 24
STATIC_GATEWAY = "192.168.50.1"
HOSTNAME = "vmw-web-01"
MARKER = "V2S-MARKER"

# The storage and NIC drivers of a VMware VM, nothing else: no virtio at all.
INITRAMFS_MODULES = (
    "ahci",
    "libahci",
    "ata_piix",
    "ata_generic",
    "sd_mod",
    "sr_mod",
    "vmw_pvscsi",
    "mptspi",
    "mptsas",
    "scsi_transport_spi",
    "vmxnet3",
    "e1000",
    "e1000e",
    "ext4",
    "crc32c_generic",
    "dm_mod",
)

MARKER_SCRIPT = f"""#!/bin/sh
# Lab marker: one line on ttyS0 once the guest is up (root device, IPv4, tools).
ip4=none
i=0
while [ $i -lt 45 ]; do
  ip4=$(ip -4 -o addr show scope global | awk '{{split($4,a,"/"); print a[1]; exit}}')
  [ -n "$ip4" ] && break
  ip4=none
  i=$((i+1))
  sleep 1
done
root=$(findmnt -n -o SOURCE /)
if [ -x /usr/bin/vmtoolsd ]; then tools=installed; else tools=absent; fi
if [ -x /usr/sbin/qemu-ga ]; then qga=installed; else qga=absent; fi
nics=$(ip -o link | awk -F': ' '$2 != "lo" {{print $2}}' | paste -sd, -)
line="{MARKER} root=$root ipv4=$ip4 tools=$tools qga=$qga nics=${{nics:-none}}"
echo "$line" > /dev/ttyS0 2>/dev/null || true
echo "$line" > /dev/console 2>/dev/null || true
"""

MARKER_UNIT = """[Unit]
Description=v2s lab boot marker on ttyS0
After=network-online.target networking.service
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/v2s-marker
StandardOutput=null

[Install]
WantedBy=multi-user.target
"""


def _write(root: Path, rel: str, text: str, mode: int = 0o644) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def chroot(root: Path, *argv: str) -> None:
    """Run one command inside the guest root."""
    subprocess.run(
        ["chroot", str(root), *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"},
    )


def write_guest_files(root: Path, fstab: str) -> None:
    """Hostname, fstab, static ens192, fixed-list initramfs config and the marker."""
    _write(root, "/etc/hostname", HOSTNAME + "\n")
    _write(root, "/etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {HOSTNAME}\n")
    _write(root, "/etc/fstab", fstab)
    _write(
        root,
        "/etc/network/interfaces",
        "# The loopback network interface\nauto lo\niface lo inet loopback\n\n"
        "# The primary network interface (vmxnet3)\nallow-hotplug ens192\n"
        f"iface ens192 inet static\n\taddress {STATIC_IP}/{STATIC_PREFIX}\n"
        f"\tgateway {STATIC_GATEWAY}\n\tdns-nameservers {STATIC_GATEWAY}\n",
    )
    _write(root, "/etc/resolv.conf", f"nameserver {STATIC_GATEWAY}\n")
    _write(
        root,
        "/etc/initramfs-tools/conf.d/vmware.conf",
        "MODULES=list\n",
    )
    _write(
        root,
        "/etc/initramfs-tools/modules",
        "# VMware storage and network drivers\n" + "\n".join(INITRAMFS_MODULES) + "\n",
    )
    _write(
        root,
        "/etc/default/grub",
        'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR="Debian"\n'
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
        "GRUB_DISABLE_LINUX_UUID=true\nGRUB_DISABLE_OS_PROBER=true\n",
    )
    _write(root, "/usr/local/sbin/v2s-marker", MARKER_SCRIPT, 0o755)
    _write(root, "/etc/systemd/system/v2s-marker.service", MARKER_UNIT)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "v2s-marker.service"
    if not link.is_symlink():
        link.symlink_to("/etc/systemd/system/v2s-marker.service")
    # A root password keeps the console usable for debugging by hand (lab only).
    chroot(root, "sh", "-c", "echo root:v2s-lab | chpasswd")
    (root / "etc/machine-id").write_text("")


def rebuild_initramfs(root: Path) -> None:
    """Build the initramfs from the fixed (virtio-free) module list."""
    chroot(root, "update-initramfs", "-u", "-k", "all")


def kernel_version(root: Path) -> str:
    """Version of the single kernel installed in the guest."""
    names = sorted(p.name for p in (root / "boot").glob("vmlinuz-*"))
    if not names:
        raise RuntimeError(f"no kernel under {root}/boot")
    return names[-1].removeprefix("vmlinuz-")


def write_grub_cfg(
    root: Path, table: str, boot_uuid: str, separate_boot: bool, root_device: str
) -> None:
    """A grub.cfg in the shape update-grub writes with GRUB_DISABLE_LINUX_UUID=true.

    (update-grub itself cannot run here: grub-probe resolves loop devices to their
    backing files, which do not exist inside the chroot.)
    """
    ver = kernel_version(root)
    prefix = "" if separate_boot else "/boot"
    part = "part_gpt" if table == "gpt" else "part_msdos"
    text = f"""# Written by the v2s lab builder (same shape as update-grub's output)
set default="0"
set timeout=1
insmod {part}
insmod ext2
search --no-floppy --fs-uuid --set=root {boot_uuid}
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class os {{
	insmod gzio
	echo 'Loading Linux {ver} ...'
	linux {prefix}/vmlinuz-{ver} root={root_device} ro quiet
	echo 'Loading initial ramdisk ...'
	initrd {prefix}/initrd.img-{ver}
}}
"""
    _write(root, "/boot/grub/grub.cfg", text)
