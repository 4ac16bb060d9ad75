// v2s lab extension: NFC export (ExportVm, ExportSnapshot) through an HttpNfcLease.
//
// As on ESXi: the lease starts "initializing" and turns "ready"; info.deviceUrl has one entry
// per disk whose url is "https://*/nfc/<lease>/disk-N.vmdk" (the client puts the host it
// talks to in place of "*"); each GET streams the disk as a streamOptimized VMDK (the format
// ESXi's export serves); HttpNfcLeaseProgress renews the lease, which otherwise expires after
// info.leaseTimeout seconds (state "error", fault Timedout); HttpNfcLeaseComplete ends it
// ("done"), HttpNfcLeaseAbort too ("error"); the URLs stop working once the lease is over.
package simulator

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type v2sExportFile struct {
	disk *v2sDisk
	snap *types.ManagedObjectReference // nil: the VM's current state
}

// readAt reads the exported state; its place in the chain is looked up at each read, as
// removing an older snapshot shifts it (s.mu held).
func (f v2sExportFile) readAt(buf []byte, off int64) error {
	level := f.disk.level(f.snap)
	if level < 0 {
		return fmt.Errorf("the exported snapshot is gone")
	}
	return f.disk.readAt(level, buf, off)
}

// V2SLease is an export lease (the library's HttpNfcLease only serves imports).
type V2SLease struct {
	mo.HttpNfcLease
	mu      sync.Mutex
	files   map[string]v2sExportFile
	timer   *time.Timer
	timeout time.Duration
}

var v2sLeases sync.Map // lease id -> *V2SLease

func (s *v2sState) newExportLease(ctx *Context, vm *VirtualMachine, snap *types.ManagedObjectReference) (*V2SLease, *soap.Fault) {
	ttl := time.Duration(s.LeaseTTL) * time.Second
	lease := &V2SLease{files: map[string]v2sExportFile{}, timeout: ttl}
	lease.Self = types.ManagedObjectReference{Type: "HttpNfcLease", Value: "52" + strings.ReplaceAll(uuid.New().String(), "-", "")[2:]}
	lease.State = types.HttpNfcLeaseStateInitializing
	lease.Mode = "pull"
	lease.Capabilities = types.HttpNfcLeaseCapabilities{PullModeSupported: true, CorsSupported: false}
	info := &types.HttpNfcLeaseInfo{Lease: lease.Self, Entity: vm.Self, LeaseTimeout: s.LeaseTTL}
	n := 0
	devices := vm.Config.Hardware.Device
	if snap != nil {
		devices = Map.Get(*snap).(*VirtualMachineSnapshot).Config.Hardware.Device
	}
	for _, dev := range devices {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		d, err := s.disk(vm, disk.Key)
		if err != nil {
			return nil, Fault(err.Error(), &types.FileFault{File: fmt.Sprintf("disk %d", disk.Key)})
		}
		level := d.level(snap)
		if level < 0 {
			return nil, Fault("snapshot has no delta", &types.InvalidState{})
		}
		name := fmt.Sprintf("disk-%d.vmdk", n)
		n++
		lease.files[name] = v2sExportFile{disk: d, snap: snap}
		info.DeviceUrl = append(info.DeviceUrl, types.HttpNfcLeaseDeviceUrl{
			Key:           v2sDeviceKey(vm, devices, disk),
			ImportKey:     v2sDeviceKey(vm, devices, disk),
			Url:           "https://*/nfc/" + lease.Self.Value + "/" + name,
			SslThumbprint: s.Thumbprint,
			Disk:          types.NewBool(true),
			TargetId:      name,
		})
		info.TotalDiskCapacityInKB += (d.capacity + 1023) / 1024
	}
	lease.Info = info
	ctx.Session.Put(lease)
	v2sLeases.Store(lease.Self.Value, lease)
	lease.timer = time.AfterFunc(ttl, func() { lease.end(types.HttpNfcLeaseStateError, &types.Timedout{}) })
	go func() { // ESXi prepares the disks, then the lease turns ready
		lease.mu.Lock()
		defer lease.mu.Unlock()
		if lease.State == types.HttpNfcLeaseStateInitializing {
			lease.InitializeProgress = 100
			Map.Update(lease, []types.PropertyChange{{Name: "state", Val: types.HttpNfcLeaseStateReady}})
		}
	}()
	return lease, nil
}

// v2sDeviceKey is the device path ESXi uses as deviceUrl.key: "/vm-42/VirtualLsiLogicController0:0".
func v2sDeviceKey(vm *VirtualMachine, devices []types.BaseVirtualDevice, disk *types.VirtualDisk) string {
	ctl := "VirtualController"
	for _, dev := range devices {
		if dev.GetVirtualDevice().Key == disk.ControllerKey {
			ctl = fmt.Sprintf("%T", dev)
			ctl = ctl[strings.LastIndex(ctl, ".")+1:]
			if c, ok := dev.(types.BaseVirtualController); ok {
				ctl = fmt.Sprintf("%s%d", ctl, c.GetVirtualController().BusNumber)
			}
		}
	}
	unit := int32(0)
	if disk.UnitNumber != nil {
		unit = *disk.UnitNumber
	}
	return fmt.Sprintf("/%s/%s:%d", vm.Self.Value, ctl, unit)
}

func (l *V2SLease) end(state types.HttpNfcLeaseState, fault types.BaseMethodFault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.State == types.HttpNfcLeaseStateDone || l.State == types.HttpNfcLeaseStateError {
		return
	}
	l.timer.Stop()
	v2sLeases.Delete(l.Self.Value)
	changes := []types.PropertyChange{{Name: "state", Val: state}}
	if fault != nil {
		changes = append(changes, types.PropertyChange{Name: "error", Val: &types.LocalizedMethodFault{
			Fault: fault, LocalizedMessage: fmt.Sprintf("%T", fault)}})
	}
	Map.Update(l, changes)
}

func (l *V2SLease) ready() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.State == types.HttpNfcLeaseStateReady
}

func v2sLeaseStateFault(l *V2SLease) *soap.Fault {
	return Fault(fmt.Sprintf("lease is %s", l.State), &types.InvalidState{})
}

// HttpNfcLeaseProgress records progress and renews the lease.
func (l *V2SLease) HttpNfcLeaseProgress(req *types.HttpNfcLeaseProgress) soap.HasFault {
	if !l.ready() {
		return &methods.HttpNfcLeaseProgressBody{Fault_: v2sLeaseStateFault(l)}
	}
	l.mu.Lock()
	l.timer.Reset(l.timeout)
	l.TransferProgress = req.Percent
	l.mu.Unlock()
	return &methods.HttpNfcLeaseProgressBody{Res: new(types.HttpNfcLeaseProgressResponse)}
}

// HttpNfcLeaseComplete ends the lease successfully.
func (l *V2SLease) HttpNfcLeaseComplete(req *types.HttpNfcLeaseComplete) soap.HasFault {
	if !l.ready() {
		return &methods.HttpNfcLeaseCompleteBody{Fault_: v2sLeaseStateFault(l)}
	}
	l.end(types.HttpNfcLeaseStateDone, nil)
	return &methods.HttpNfcLeaseCompleteBody{Res: new(types.HttpNfcLeaseCompleteResponse)}
}

// HttpNfcLeaseAbort ends the lease as failed (the given fault, or RequestCanceled).
func (l *V2SLease) HttpNfcLeaseAbort(req *types.HttpNfcLeaseAbort) soap.HasFault {
	l.mu.Lock()
	over := l.State == types.HttpNfcLeaseStateDone || l.State == types.HttpNfcLeaseStateError
	l.mu.Unlock()
	if over {
		return &methods.HttpNfcLeaseAbortBody{Fault_: v2sLeaseStateFault(l)}
	}
	var fault types.BaseMethodFault = &types.RequestCanceled{}
	if req.Fault != nil && req.Fault.Fault != nil {
		fault = req.Fault.Fault
	}
	l.end(types.HttpNfcLeaseStateError, fault)
	return &methods.HttpNfcLeaseAbortBody{Res: new(types.HttpNfcLeaseAbortResponse)}
}

// ExportVm leases the disks of a powered-off VM for download.
func (vm *VirtualMachine) ExportVm(ctx *Context, req *types.ExportVm) soap.HasFault {
	body := &methods.ExportVmBody{}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		body.Fault_ = Fault("", &types.InvalidPowerState{ExistingState: vm.Runtime.PowerState,
			RequestedState: types.VirtualMachinePowerStatePoweredOff})
		return body
	}
	V2S.mu.Lock()
	lease, fault := V2S.newExportLease(ctx, vm, nil)
	V2S.mu.Unlock()
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.ExportVmResponse{Returnval: lease.Self}
	return body
}

// ExportSnapshot leases the disks as they were when the snapshot was taken.
func (v *VirtualMachineSnapshot) ExportSnapshot(ctx *Context, req *types.ExportSnapshot) soap.HasFault {
	body := &methods.ExportSnapshotBody{}
	vm, ok := Map.Get(v.Vm).(*VirtualMachine)
	if !ok {
		body.Fault_ = Fault("", &types.ManagedObjectNotFound{Obj: v.Vm})
		return body
	}
	V2S.mu.Lock()
	self := v.Self
	lease, fault := V2S.newExportLease(ctx, vm, &self)
	V2S.mu.Unlock()
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	body.Res = &types.ExportSnapshotResponse{Returnval: lease.Self}
	return body
}

// v2sServeExport streams one leased disk (GET /nfc/<lease>/<file>); false if not our lease.
func v2sServeExport(w http.ResponseWriter, r *http.Request) bool {
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/nfc/"), "/")
	if len(p) != 2 {
		return false
	}
	l, ok := v2sLeases.Load(p[0])
	if !ok {
		return false
	}
	lease := l.(*V2SLease)
	f, ok := lease.files[p[1]]
	if !ok || !lease.ready() {
		http.NotFound(w, r)
		return true
	}
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return true
	}
	w.Header().Set("Content-Type", "application/x-vnd.vmware-streamVmdk")
	w.WriteHeader(http.StatusOK)
	if err := v2sStreamOptimized(V2S.Limiter.Writer(w), f, p[1]); err != nil {
		log.Printf("nfc export %s: %v", r.URL.Path, err)
	}
	return true
}

// --- streamOptimized VMDK (VMware Virtual Disk Format 5.0, "Stream-Optimized Compressed Sparse Extents")

const (
	v2sSector     = 512
	v2sGrainSect  = V2SGrain / v2sSector // 128 sectors
	v2sGTEs       = 512
	v2sMarkerEOS  = 0
	v2sMarkerGT   = 1
	v2sMarkerGD   = 2
	v2sMarkerFoot = 3
)

type v2sSparseHeader struct {
	Magic              uint32
	Version            uint32
	Flags              uint32
	Capacity           uint64
	GrainSize          uint64
	DescriptorOffset   uint64
	DescriptorSize     uint64
	NumGTEsPerGT       uint32
	RgdOffset          uint64
	GdOffset           uint64
	OverHead           uint64
	UncleanShutdown    uint8
	SingleEndLineChar  uint8
	NonEndLineChar     uint8
	DoubleEndLineChar1 uint8
	DoubleEndLineChar2 uint8
	CompressAlgorithm  uint16
	Pad                [433]uint8
}

type v2sCounter struct {
	w io.Writer
	n int64
}

func (c *v2sCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *v2sCounter) pad() error {
	if rem := c.n % v2sSector; rem != 0 {
		_, err := c.Write(make([]byte, v2sSector-rem))
		return err
	}
	return nil
}

func (c *v2sCounter) marker(sectors uint64, typ uint32) error {
	m := make([]byte, v2sSector)
	binary.LittleEndian.PutUint64(m[0:], sectors)
	binary.LittleEndian.PutUint32(m[12:], typ)
	_, err := c.Write(m)
	return err
}

func v2sHeader(capSectors, descSectors, gd uint64) v2sSparseHeader {
	return v2sSparseHeader{
		Magic: 0x564d444b, Version: 3, Flags: 1 | 1<<16 | 1<<17,
		Capacity: capSectors, GrainSize: v2sGrainSect, DescriptorOffset: 1,
		DescriptorSize: descSectors, NumGTEsPerGT: v2sGTEs, GdOffset: gd,
		OverHead: 1 + descSectors, SingleEndLineChar: '\n', NonEndLineChar: ' ',
		DoubleEndLineChar1: '\r', DoubleEndLineChar2: '\n', CompressAlgorithm: 1,
	}
}

// v2sStreamOptimized writes the exported disk content as a streamOptimized VMDK.
func v2sStreamOptimized(w io.Writer, f v2sExportFile, name string) error {
	d := f.disk
	capSectors := uint64((d.capacity + v2sSector - 1) / v2sSector)
	cyl := capSectors / (255 * 63)
	if cyl == 0 {
		cyl = 1
	}
	desc := fmt.Sprintf("# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=ffffffff\n"+
		"createType=\"streamOptimized\"\n\n# Extent description\nRW %d SPARSE \"%s\"\n\n"+
		"# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.geometry.cylinders = \"%d\"\n"+
		"ddb.geometry.heads = \"255\"\nddb.geometry.sectors = \"63\"\nddb.virtualHWVersion = \"4\"\n",
		uint32(time.Now().Unix()), capSectors, name, cyl)
	descSectors := uint64((len(desc) + v2sSector - 1) / v2sSector)
	c := &v2sCounter{w: w}
	if err := binary.Write(c, binary.LittleEndian, v2sHeader(capSectors, descSectors, ^uint64(0))); err != nil {
		return err
	}
	if _, err := c.Write([]byte(desc)); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	V2S.mu.Lock()
	blocks, err := d.allocated(v2sMaxInt(d.level(f.snap), 0))
	V2S.mu.Unlock()
	if err != nil {
		return err
	}
	grains := (int64(capSectors) + v2sGrainSect - 1) / v2sGrainSect
	gt := make([]uint32, ((grains+v2sGTEs-1)/v2sGTEs)*v2sGTEs)
	buf := make([]byte, V2SGrain)
	var z bytes.Buffer
	for _, b := range blocks {
		V2S.mu.Lock()
		err := f.readAt(buf, b*V2SGrain)
		V2S.mu.Unlock()
		if err != nil {
			return err
		}
		n := v2sMin(V2SGrain, d.capacity-b*V2SGrain)
		if bytes.Count(buf[:n], []byte{0}) == int(n) {
			continue
		}
		z.Reset()
		zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
		_, _ = zw.Write(buf[:n])
		_ = zw.Close()
		gt[b] = uint32(c.n / v2sSector)
		hdr := make([]byte, 12)
		binary.LittleEndian.PutUint64(hdr[0:], uint64(b*v2sGrainSect))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(z.Len()))
		if _, err := c.Write(hdr); err != nil {
			return err
		}
		if _, err := c.Write(z.Bytes()); err != nil {
			return err
		}
		if err := c.pad(); err != nil {
			return err
		}
	}
	gtSectors := uint64(v2sGTEs * 4 / v2sSector)
	gd := make([]uint32, len(gt)/v2sGTEs)
	for t := range gd {
		table := gt[t*v2sGTEs : (t+1)*v2sGTEs]
		empty := true
		for _, e := range table {
			if e != 0 {
				empty = false
				break
			}
		}
		if empty {
			continue
		}
		if err := c.marker(gtSectors, v2sMarkerGT); err != nil {
			return err
		}
		gd[t] = uint32(c.n / v2sSector)
		if err := binary.Write(c, binary.LittleEndian, table); err != nil {
			return err
		}
	}
	gdSectors := uint64((len(gd)*4 + v2sSector - 1) / v2sSector)
	if err := c.marker(gdSectors, v2sMarkerGD); err != nil {
		return err
	}
	gdOffset := uint64(c.n / v2sSector)
	if err := binary.Write(c, binary.LittleEndian, gd); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.marker(1, v2sMarkerFoot); err != nil {
		return err
	}
	if err := binary.Write(c, binary.LittleEndian, v2sHeader(capSectors, descSectors, gdOffset)); err != nil {
		return err
	}
	return c.marker(0, v2sMarkerEOS)
}

func v2sMaxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
