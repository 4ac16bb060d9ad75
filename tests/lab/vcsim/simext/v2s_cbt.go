// v2s lab extension: changed block tracking (CBT) as ESXi does it.
//
// config.changeTrackingEnabled is set by ReconfigVM_Task at once (the library does that), but
// on a powered-on VM tracking starts (or stops) only at its next stun/unstun cycle: power on,
// resume, snapshot create, remove or revert (VDDK Programming Guide, "Enable Changed Block
// Tracking"); on a powered-off VM the reconfiguration itself applies it. Each disk then carries backing.changeId "52 xx xx xx xx xx xx xx-xx xx xx xx xx
// xx xx xx/N": the tracking id (new each time tracking is switched on) and a sequence number
// that advances with every write. QueryChangedDiskAreas answers from the write log.
package simulator

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func v2sNewCtkID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0] = 0x52 // ESXi change ids, like vSphere UUID strings, start with 52
	parts := make([]string, 16)
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}

func (d *v2sDisk) changeID() string {
	if d.ctk == "" {
		return ""
	}
	return fmt.Sprintf("%s/%d", d.ctk, d.seq)
}

// recordWrite advances the change id of a tracked disk after a write of [off, off+n).
func (d *v2sDisk) recordWrite(off, n int64) {
	if d.ctk == "" || n <= 0 {
		return
	}
	d.seq++
	var blocks []int64
	for b := off / V2SGrain; b*V2SGrain < off+n; b++ {
		blocks = append(blocks, b)
	}
	d.log = append(d.log, v2sChange{seq: d.seq, blocks: blocks})
}

// stun applies a pending change of config.changeTrackingEnabled, then publishes change ids.
func (s *v2sState) stun(vm *VirtualMachine) {
	if vm.Config.ChangeTrackingEnabled == nil { // ESXi reports false, the library nothing
		vm.Config.ChangeTrackingEnabled = types.NewBool(false)
	}
	want := *vm.Config.ChangeTrackingEnabled
	for _, d := range s.vmDisks(vm) {
		switch {
		case want && d.ctk == "":
			d.ctk, d.seq, d.log = v2sNewCtkID(), 0, nil
		case !want && d.ctk != "":
			d.ctk, d.seq, d.log = "", 0, nil
		}
	}
	s.publish(vm)
}

// publish writes each tracked disk's change id into the VM's config (backing.changeId).
func (s *v2sState) publish(vm *VirtualMachine) {
	for _, dev := range vm.Config.Hardware.Device {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		if d, ok := s.disks[v2sDiskKey(vm.Self, disk.Key)]; ok {
			b.ChangeId = d.changeID()
		}
	}
}

// freezeSnapshotConfig gives a new snapshot its own disk devices carrying its change ids.
func (s *v2sState) freezeSnapshotConfig(vm *VirtualMachine, snap *VirtualMachineSnapshot) {
	devices := make([]types.BaseVirtualDevice, len(snap.Config.Hardware.Device))
	for i, dev := range snap.Config.Hardware.Device {
		devices[i] = dev
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		dc, bc := *disk, *b
		bc.ChangeId = ""
		if d, ok := s.disks[v2sDiskKey(vm.Self, disk.Key)]; ok {
			if lvl := d.level(&snap.Self); lvl >= 0 && d.deltas[lvl].ctk != "" {
				bc.ChangeId = fmt.Sprintf("%s/%d", d.deltas[lvl].ctk, d.deltas[lvl].seq)
			}
		}
		dc.Backing = &bc
		devices[i] = &dc
	}
	snap.Config.Hardware.Device = devices
}

// v2sHooks follows VM power and snapshot changes through the registry's handler callbacks.
type v2sHooks struct{}

func (h *v2sHooks) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "V2SHooks", Value: "v2s-hooks"}
}

func (h *v2sHooks) PutObject(mo.Reference) {}

func (h *v2sHooks) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	vm, ok := Map.Get(ref).(*VirtualMachine)
	if !ok {
		return
	}
	for _, c := range changes {
		switch c.Name {
		case "runtime.powerState":
			if c.Val == types.VirtualMachinePowerStatePoweredOn {
				V2S.mu.Lock()
				V2S.stun(vm)
				V2S.mu.Unlock()
			}
		case "snapshot.currentSnapshot":
			snapRef, ok := c.Val.(types.ManagedObjectReference)
			if !ok {
				continue
			}
			V2S.mu.Lock()
			_, known := V2S.snaps[snapRef]
			if snap, ok := Map.Get(snapRef).(*VirtualMachineSnapshot); ok && !known {
				V2S.stun(vm)
				V2S.snapshotTaken(vm, snapRef)
				V2S.freezeSnapshotConfig(vm, snap)
				V2S.renameOnSnapshot(vm)
			} else if known { // a revert: also a stun/unstun cycle
				V2S.reverted(vm, snapRef)
				V2S.stun(vm)
			}
			V2S.mu.Unlock()
		case "config.hardware.device": // every ReconfigVM_Task: a powered-off VM has no stun
			if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOff {
				V2S.mu.Lock()
				V2S.stun(vm)
				V2S.mu.Unlock()
			}
		}
	}
}

func (h *v2sHooks) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "VirtualMachineSnapshot" {
		return
	}
	V2S.mu.Lock()
	defer V2S.mu.Unlock()
	vmRef, err := V2S.snapshotRemoved(ref)
	vm, ok := Map.Get(vmRef).(*VirtualMachine)
	if !ok {
		return
	}
	if err != nil {
		vm.logPrintf("v2s: merging the delta of %s failed: %v", ref.Value, err)
	}
	V2S.restoreBaseNames(vm)
	V2S.stun(vm)
}

// V2SInstall registers the hooks (call once, after the model is created).
func V2SInstall() {
	for _, obj := range Map.All("VirtualMachine") {
		if vm := obj.(*VirtualMachine); vm.Config.ChangeTrackingEnabled == nil {
			vm.Config.ChangeTrackingEnabled = types.NewBool(false)
		}
	}
	Map.AddHandler(&v2sHooks{})
}

func v2sFileFault(vm *VirtualMachine, key int32, msg string) *soap.Fault {
	file := fmt.Sprintf("disk %d", key)
	if dev := v2sFindDisk(vm.Config.Hardware.Device, key); dev != nil {
		if b, ok := dev.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
			file = b.GetVirtualDeviceFileBackingInfo().FileName
		}
	}
	return Fault(msg, &types.FileFault{File: file})
}

// QueryChangedDiskAreas returns the areas of a disk changed since changeId ("*": allocated).
func (vm *VirtualMachine) QueryChangedDiskAreas(req *types.QueryChangedDiskAreas) soap.HasFault {
	body := &methods.QueryChangedDiskAreasBody{}
	V2S.mu.Lock()
	defer V2S.mu.Unlock()
	info, fault := V2S.queryChanged(vm, req)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.QueryChangedDiskAreasResponse{Returnval: *info}
	return body
}

func (s *v2sState) queryChanged(vm *VirtualMachine, req *types.QueryChangedDiskAreas) (*types.DiskChangeInfo, *soap.Fault) {
	if v2sFindDisk(vm.Config.Hardware.Device, req.DeviceKey) == nil {
		return nil, Fault(fmt.Sprintf("no virtual disk with key %d", req.DeviceKey),
			&types.InvalidArgument{InvalidProperty: "deviceKey"})
	}
	d, err := s.disk(vm, req.DeviceKey)
	if err != nil {
		return nil, v2sFileFault(vm, req.DeviceKey, err.Error())
	}
	var ctk string
	var end int64
	level := -1
	if req.Snapshot == nil {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
			return nil, Fault("the current state can only be queried on a powered-off VM",
				&types.InvalidPowerState{ExistingState: vm.Runtime.PowerState,
					RequestedState: types.VirtualMachinePowerStatePoweredOff})
		}
		ctk, end, level = d.ctk, d.seq, len(d.deltas)
	} else {
		level = d.level(req.Snapshot)
		if level < 0 {
			return nil, Fault("snapshot not found", &types.ManagedObjectNotFound{Obj: *req.Snapshot})
		}
		ctk, end = d.deltas[level].ctk, d.deltas[level].seq
	}
	if ctk == "" || d.ctk != ctk {
		return nil, v2sFileFault(vm, req.DeviceKey, "change tracking is not active for this disk")
	}
	if req.StartOffset < 0 || req.StartOffset >= d.capacity {
		return nil, Fault("startOffset beyond the end of the disk", &types.InvalidArgument{InvalidProperty: "startOffset"})
	}
	var blocks []int64
	if req.ChangeId == "*" {
		if !d.thin {
			blocks = nil
			for b := int64(0); b*V2SGrain < d.capacity; b++ {
				blocks = append(blocks, b)
			}
		} else if blocks, err = d.allocated(level); err != nil {
			return nil, v2sFileFault(vm, req.DeviceKey, err.Error())
		}
	} else {
		i := strings.LastIndex(req.ChangeId, "/")
		since, perr := strconv.ParseInt(req.ChangeId[i+1:], 10, 64)
		if i < 0 || perr != nil || req.ChangeId[:i] != ctk || since > end || since < 0 {
			return nil, v2sFileFault(vm, req.DeviceKey, "unknown change id "+req.ChangeId)
		}
		set := map[int64]bool{}
		for _, c := range d.log {
			if c.seq > since && c.seq <= end {
				for _, b := range c.blocks {
					set[b] = true
				}
			}
		}
		blocks = v2sSorted(set)
	}
	return s.page(d, blocks, req.StartOffset), nil
}

// page merges adjacent blocks into areas from startOffset on, at most PageAreas per answer.
func (s *v2sState) page(d *v2sDisk, blocks []int64, start int64) *types.DiskChangeInfo {
	sort.Slice(blocks, func(i, j int) bool { return blocks[i] < blocks[j] })
	info := &types.DiskChangeInfo{StartOffset: start, Length: d.capacity - start}
	for _, b := range blocks {
		lo, hi := v2sMax(b*V2SGrain, start), v2sMin((b+1)*V2SGrain, d.capacity)
		if hi <= lo {
			continue
		}
		n := len(info.ChangedArea)
		if n > 0 && info.ChangedArea[n-1].Start+info.ChangedArea[n-1].Length == lo {
			info.ChangedArea[n-1].Length = hi - info.ChangedArea[n-1].Start
			continue
		}
		if n == s.PageAreas {
			last := info.ChangedArea[n-1]
			info.Length = last.Start + last.Length - start
			break
		}
		info.ChangedArea = append(info.ChangedArea, types.DiskChangeExtent{Start: lo, Length: hi - lo})
	}
	return info
}
