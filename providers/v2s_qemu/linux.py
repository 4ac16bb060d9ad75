"""The in-guest half of a Linux conversion (Debian family), run through libguestfs.

Each step reads the guest, changes only what differs and returns a sentence per
change, so a second conversion of the same input reports the same sentences.
The guest's own tools (dpkg, update-initramfs, update-grub, systemctl) run inside
the appliance, never on the host.
"""

from __future__ import annotations

import re
from pathlib import Path

from v2s_qemu.guestfish import Guestfish
from vmware2scw.errors import ProviderError

VIRTIO_MODULES = ("virtio_pci", "virtio_scsi", "virtio_blk", "virtio_net")
VMWARE_TOOLS = ("open-vm-tools-desktop", "open-vm-tools", "open-vm-tools-sdmp")
DEVICE_NAME = re.compile(r"^/dev/(sd|vd|hd|xvd)[a-z]+\d*$")
DHCP_STANZA = (
    "# v2s: DHCP on whichever NIC the new platform presents (virtio-net: ens*/enp*/eth*)\n"
    "auto /en*=v2s-dhcp /eth*=v2s-dhcp\n"
    "allow-hotplug /en*=v2s-dhcp /eth*=v2s-dhcp\n"
    "iface v2s-dhcp inet dhcp\n"
)
SERIAL_ARGS = "console=tty0 console=ttyS0,115200n8"
QGA_FIRSTBOOT_UNIT = """[Unit]
Description=v2s: install qemu-guest-agent once the guest can reach its package sources
After=network-online.target
Wants=network-online.target
ConditionPathExists=!/usr/sbin/qemu-ga

[Service]
Type=oneshot
TimeoutStartSec=600
Environment=DEBIAN_FRONTEND=noninteractive
ExecStart=/usr/bin/apt-get -q update
ExecStart=/usr/bin/apt-get -q -y install qemu-guest-agent
ExecStart=/bin/systemctl enable --now qemu-guest-agent

[Install]
WantedBy=multi-user.target
"""


class UnsupportedGuest(ProviderError):
    """The guest is of a kind this converter does not handle (message says which)."""


class LinuxSteps:
    """Conversion steps for one mounted Debian-family guest."""

    def __init__(self, g: Guestfish, tmp: Path) -> None:
        self.g = g
        self.tmp = tmp

    def _write(self, path: str, text: str) -> None:
        self.g.write(path, text, self.tmp / "upload.tmp")

    def remove_vmware_tools(self) -> list[str]:
        """Purge open-vm-tools (and friends) with the guest's dpkg."""
        out = self.g.sh(
            "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' "
            + " ".join(VMWARE_TOOLS)
            + " 2>/dev/null || true"
        )
        installed = [ln.split()[0] for ln in out.splitlines() if ln.endswith(" installed")]
        installed = [p for p in VMWARE_TOOLS if p in installed]
        changes = []
        if installed:
            self.g.sh("DEBIAN_FRONTEND=noninteractive dpkg --purge " + " ".join(installed))
            changes += [f"removed package {p} (VMware tools)" for p in installed]
        if self.g.exists("/usr/bin/vmware-uninstall-tools.pl"):
            self.g.sh("/usr/bin/vmware-uninstall-tools.pl </dev/null >/dev/null 2>&1 || true")
            changes.append("ran vmware-uninstall-tools.pl (tarball VMware Tools)")
        return changes

    def add_virtio_to_initramfs(self) -> list[str]:
        """List the virtio drivers in /etc/initramfs-tools/modules (kept for later kernels)."""
        path = "/etc/initramfs-tools/modules"
        text = self.g.read(path)
        present = {ln.split()[0] for ln in text.splitlines() if ln.strip() and ln[0] != "#"}
        missing = [m for m in VIRTIO_MODULES if m not in present]
        if not missing:
            return []
        if text and not text.endswith("\n"):
            text += "\n"
        text += "# added by v2s: drivers of the Scaleway disks and NIC\n"
        text += "\n".join(missing) + "\n"
        self._write(path, text)
        return [f"initramfs: added {', '.join(missing)} to {path}"]

    def device_uuids(self, devices: list[str]) -> dict[str, str]:
        """UUID of each block device (skips devices without one)."""
        out = {}
        for dev in devices:
            try:
                uuid = self.g("vfs-uuid", dev).strip()
            except Exception:
                uuid = ""
            if uuid:
                out[dev] = uuid
        return out

    def fstab_by_uuid(self, extra: list[str]) -> list[str]:
        """Replace /dev/sdX (vdX, hdX, xvdX) names in fstab by UUID=; append ``extra`` lines."""
        text = self.g.read("/etc/fstab")
        lines = text.splitlines()
        firsts = [ln.split()[0] for ln in lines if ln.split()]
        names = sorted({f for f in firsts if DEVICE_NAME.match(f)})
        uuids = self.device_uuids([self._appliance_name(n) for n in names])
        changes, out = [], []
        for ln in lines:
            fields = ln.split()
            if fields and DEVICE_NAME.match(fields[0]):
                uuid = uuids.get(self._appliance_name(fields[0]))
                if not uuid:
                    raise UnsupportedGuest(f"fstab names {fields[0]}, which has no UUID")
                ln = ln.replace(fields[0], f"UUID={uuid}", 1)
                changes.append(f"fstab: {fields[0]} ({fields[1]}) -> UUID={uuid}")
            out.append(ln)
        for ln in extra:
            if ln.split()[1] not in {f.split()[1] for f in out if len(f.split()) > 1}:
                out.append(ln)
                changes.append(f"fstab: added {ln.split()[1]} ({ln.split()[0]})")
        if changes:
            self._write("/etc/fstab", "\n".join(out) + "\n")
        return changes

    def _appliance_name(self, guest_name: str) -> str:
        """The appliance sees the disks in the same order on SCSI: /dev/vdb2 -> /dev/sdb2."""
        return re.sub(r"^/dev/(sd|vd|hd|xvd)", "/dev/sd", guest_name)

    def resume_by_uuid(self) -> list[str]:
        """initramfs RESUME=/dev/sdX -> UUID."""
        path = "/etc/initramfs-tools/conf.d/resume"
        text = self.g.read(path)
        m = re.search(r"^RESUME=(/dev/\S+)$", text, re.MULTILINE)
        if not m or not DEVICE_NAME.match(m.group(1)):
            return []
        uuid = self.device_uuids([self._appliance_name(m.group(1))]).get(
            self._appliance_name(m.group(1))
        )
        new = f"RESUME=UUID={uuid}" if uuid else "RESUME=none"
        self._write(path, text.replace(m.group(0), new))
        return [f"initramfs resume: {m.group(1)} -> {new.removeprefix('RESUME=')}"]

    def network(self, mode: str) -> list[str]:
        """``dhcp``: VMware NIC stanzas disabled, DHCP on any en*/eth* NIC; ``keep``: untouched."""
        path = "/etc/network/interfaces"
        text = self.g.read(path)
        if not text:
            if self.g.exists("/etc/netplan") or self.g.exists("/etc/NetworkManager"):
                return ["network: netplan/NetworkManager guest left as is (matches by driver)"]
            raise UnsupportedGuest("no /etc/network/interfaces: network config not recognised")
        if mode == "keep" or "iface v2s-dhcp inet dhcp" in text:
            return []
        out, nics, current = [], [], None
        for ln in text.splitlines():
            words = ln.split()
            if words and words[0] in ("auto", "allow-hotplug") and words[1:] != ["lo"]:
                nics += [w for w in words[1:] if w != "lo"]
                out.append("# v2s (VMware NIC): " + ln)
                continue
            if words and words[0] == "iface":
                current = words[1]
            elif words and not ln[:1].isspace():
                current = None
            if current and current != "lo":
                out.append("# v2s (VMware NIC): " + ln if ln.strip() else ln)
            else:
                out.append(ln)
        self._write(path, "\n".join(out).rstrip("\n") + "\n\n" + DHCP_STANZA)
        changes = [f"network: disabled static/VMware settings of {n}" for n in dict.fromkeys(nics)]
        changes.append("network: DHCP on any en*/eth* interface (ifupdown pattern)")
        if not self.g.exists("/sbin/dhclient") and not self.g.exists("/usr/sbin/dhclient"):
            changes.append("warning: no dhclient in the guest; install isc-dhcp-client")
        return changes

    def grub_defaults(self) -> list[str]:
        """Root by UUID and a serial console (ttyS0) in /etc/default/grub."""
        path = "/etc/default/grub"
        text = self.g.read(path)
        if not text:
            raise UnsupportedGuest("no /etc/default/grub: only GRUB 2 guests are converted")
        changes = []
        if re.search(r"^GRUB_DISABLE_LINUX_UUID=\"?true", text, re.MULTILINE):
            text = re.sub(r"^GRUB_DISABLE_LINUX_UUID=.*$", "GRUB_DISABLE_LINUX_UUID=false", text,
                          flags=re.MULTILINE)  # fmt: skip
            changes.append("grub: root= by UUID (GRUB_DISABLE_LINUX_UUID=false)")
        m = re.search(r'^GRUB_CMDLINE_LINUX="([^"]*)"', text, re.MULTILINE)
        args = m.group(1) if m else ""
        if "console=ttyS0" not in args:
            new = (args + " " + SERIAL_ARGS).strip()
            line = f'GRUB_CMDLINE_LINUX="{new}"'
            text = text.replace(m.group(0), line) if m else text + line + "\n"
            changes.append(f"grub: kernel arguments += {SERIAL_ARGS}")
        if not re.search(r"^GRUB_TERMINAL=", text, re.MULTILINE):
            text += 'GRUB_TERMINAL="console serial"\nGRUB_SERIAL_COMMAND="serial --speed=115200"\n'
            changes.append("grub: menu on the serial console too")
        if changes:
            self._write(path, text)
        return changes

    def serial_getty(self) -> list[str]:
        """A login prompt on ttyS0 (the Scaleway serial console)."""
        link = "/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
        if self.g.exists(link):
            return []
        self.g.sh("systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1")
        return ["systemd: enabled serial-getty@ttyS0 (login prompt on the serial console)"]

    def guest_agent(self) -> list[str]:
        """Enable qemu-guest-agent when installed, else install it at first boot."""
        if self.g.exists("/usr/sbin/qemu-ga"):
            self.g.sh("systemctl enable qemu-guest-agent >/dev/null 2>&1 || true")
            return ["qemu-guest-agent: already installed, enabled"]
        unit = "/etc/systemd/system/v2s-install-qemu-guest-agent.service"
        if self.g.exists(unit):
            return []
        self._write(unit, QGA_FIRSTBOOT_UNIT)
        self.g.sh("systemctl enable v2s-install-qemu-guest-agent.service >/dev/null 2>&1")
        return [
            "qemu-guest-agent: not in the guest; a first-boot unit installs it from the"
            " guest's package sources (reported, not guaranteed)"
        ]

    def efi_grub_modules(self, host_lib: Path) -> list[str]:
        """Copy the host's x86_64-efi GRUB modules into /boot/grub (for grub.cfg insmods)."""
        if self.g.exists("/boot/grub/x86_64-efi/normal.mod"):
            return []
        self.g("mkdir-p", "/boot/grub")
        self.g("copy-in", str(host_lib), "/boot/grub")
        return ["grub: x86_64-efi modules copied to /boot/grub/x86_64-efi"]

    def rebuild_initramfs(self) -> list[str]:
        """update-initramfs for every installed kernel."""
        self.g.sh("update-initramfs -u -k all >/dev/null 2>&1")
        return ["initramfs: rebuilt for every kernel"]

    def regenerate_grub_cfg(self) -> list[str]:
        """update-grub inside the guest; refuse a result that still names /dev/sdX."""
        self.g.sh("update-grub >/dev/null 2>&1")
        cfg = self.g.read("/boot/grub/grub.cfg")
        bad = re.findall(r"root=(/dev/(?:sd|vd|hd|xvd)[a-z]+\d*)", cfg)
        if bad:
            raise UnsupportedGuest(f"grub.cfg still names root={bad[0]} after update-grub")
        return ["grub: grub.cfg regenerated (update-grub)"]
