// v2s lab extension: ESXi's redo-log file names (opt-in: vcsim -delta-names).
//
// While a VM has snapshots, ESXi points each disk of the VM at its running redo log,
// "<disk>-00000N.vmdk" (a seSparse descriptor whose backing.parent chain ends at the base
// disk); each snapshot's config names the file that was current when it was taken; once the
// last snapshot is removed the VM names its base disk again. Off by default: the library
// keeps the base name throughout, which providers written against it may rely on.
package simulator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

func v2sRootBacking(b *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
	for b.Parent != nil {
		b = b.Parent
	}
	return b
}

func v2sLocalPath(fileName string) (string, bool) {
	p, fault := parseDatastorePath(fileName)
	if fault != nil {
		return "", false
	}
	dir, ok := v2sDatastoreDir(p.Datastore)
	return filepath.Join(dir, p.Path), ok
}

// renameOnSnapshot points the VM's tracked disks at a new redo log (s.mu held).
func (s *v2sState) renameOnSnapshot(vm *VirtualMachine) {
	if !s.DeltaNames {
		return
	}
	for _, dev := range vm.Config.Hardware.Device {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		d, ok := s.disks[v2sDiskKey(vm.Self, disk.Key)]
		if !ok {
			continue
		}
		d.redo++
		parent, next := *b, *b
		next.Parent = &parent
		next.FileName = fmt.Sprintf("%s-%06d.vmdk", strings.TrimSuffix(v2sRootBacking(b).FileName, ".vmdk"), d.redo)
		disk.Backing = &next
		if local, ok := v2sLocalPath(next.FileName); ok {
			stem := strings.TrimSuffix(filepath.Base(local), ".vmdk")
			parentName := filepath.Base(parent.FileName[strings.Index(parent.FileName, "]")+1:])
			desc := fmt.Sprintf("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\n"+
				"parentCID=fffffffe\ncreateType=\"seSparse\"\nparentFileNameHint=\"%s\"\n"+
				"# Extent description\nRW %d SESPARSE \"%s-sesparse.vmdk\"\n\n# The Disk Data Base\n"+
				"#DDB\n\nddb.grain = \"8\"\n", strings.TrimSpace(parentName), (d.capacity+511)/512, stem)
			_ = os.WriteFile(local, []byte(desc), 0o600)
		}
	}
}

// restoreBaseNames points the VM's disks back at their base disks once no snapshot is left.
func (s *v2sState) restoreBaseNames(vm *VirtualMachine) {
	for _, dev := range vm.Config.Hardware.Device {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok || b.Parent == nil {
			continue
		}
		if d, ok := s.disks[v2sDiskKey(vm.Self, disk.Key)]; ok && len(d.deltas) > 0 {
			continue
		}
		for link := b; link.Parent != nil; link = link.Parent {
			if local, ok := v2sLocalPath(link.FileName); ok {
				_ = os.Remove(local)
			}
		}
		base := *v2sRootBacking(b)
		base.ChangeId = b.ChangeId
		disk.Backing = &base
	}
}
