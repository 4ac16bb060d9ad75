// v2s lab extension of the govmomi simulator (copied into package simulator at build time).
//
// Disk contents: each VM disk is resolved through its VMDK descriptor on the datastore to a
// local data file (a monolithicFlat "-flat.vmdk" extent, or a vSAN-like object outside the
// datastore). While the VM has snapshots, the base file stays frozen and guest writes go to
// one in-memory delta per snapshot (64 KiB grains), merged when the snapshot is removed, as
// VMware's redo logs are.
package simulator

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/vmware/govmomi/vim25/types"
)

// V2SGrain is the delta grain and the changed-block-tracking block size (64 KiB).
const V2SGrain = 64 << 10

const (
	v2sSeekData = 3 // lseek(2) SEEK_DATA
	v2sSeekHole = 4 // lseek(2) SEEK_HOLE
)

type v2sDelta struct {
	snap   types.ManagedObjectReference
	grains map[int64][]byte
	ctk    string // the CBT id when the snapshot was taken ("" when CBT was off)
	seq    int64  // the CBT sequence number when the snapshot was taken
}

type v2sChange struct {
	seq    int64
	blocks []int64
}

type v2sDisk struct {
	vm       types.ManagedObjectReference
	key      int32
	path     string // local data file behind the disk
	capacity int64
	thin     bool
	deltas   []*v2sDelta
	redo     int    // redo logs made so far (their "-00000N" names)
	ctk      string // active CBT id ("52 .. ..-.. ..") or ""
	seq      int64
	log      []v2sChange
}

type v2sState struct {
	mu         sync.Mutex
	disks      map[string]*v2sDisk
	snaps      map[types.ManagedObjectReference]types.ManagedObjectReference // snapshot -> vm
	ObjectsDir string
	PageAreas  int
	LeaseTTL   int32
	Limiter    *v2sLimiter
	Thumbprint string
	DeltaNames bool
}

// V2S holds the lab extension's state; main sets its exported fields before serving.
var V2S = &v2sState{
	disks:     map[string]*v2sDisk{},
	snaps:     map[types.ManagedObjectReference]types.ManagedObjectReference{},
	PageAreas: 1024,
	LeaseTTL:  300,
	Limiter:   &v2sLimiter{},
}

var v2sExtent = regexp.MustCompile(`(?m)^(?:RW|RDONLY)\s+(\d+)\s+(\w+)\s+"([^"]+)"`)

func v2sDiskKey(vm types.ManagedObjectReference, key int32) string {
	return fmt.Sprintf("%s/%d", vm.Value, key)
}

func v2sFindDisk(devices []types.BaseVirtualDevice, key int32) *types.VirtualDisk {
	for _, d := range devices {
		if disk, ok := d.(*types.VirtualDisk); ok && disk.Key == key {
			return disk
		}
	}
	return nil
}

func v2sDatastoreDir(name string) (string, bool) {
	for _, obj := range Map.All("Datastore") {
		ds := obj.(*Datastore)
		if ds.Name == name {
			return ds.Info.GetDatastoreInfo().Url, true
		}
	}
	return "", false
}

// v2sDataFile maps "[ds] dir/x.vmdk" to the local file holding the disk's bytes.
func (s *v2sState) v2sDataFile(fileName string) (string, error) {
	p, fault := parseDatastorePath(fileName)
	if fault != nil {
		return "", fmt.Errorf("not a datastore path: %s", fileName)
	}
	dir, ok := v2sDatastoreDir(p.Datastore)
	if !ok {
		return "", fmt.Errorf("no datastore %s", p.Datastore)
	}
	descPath := filepath.Join(dir, p.Path)
	f, err := os.Open(descPath)
	if err != nil {
		return "", err
	}
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	_ = f.Close()
	m := v2sExtent.FindSubmatch(head[:n])
	if m == nil {
		return "", fmt.Errorf("%s: no extent line (not a text descriptor)", fileName)
	}
	target := string(m[3])
	if strings.HasPrefix(target, "vsan://") {
		if s.ObjectsDir == "" {
			return "", fmt.Errorf("%s: vSAN object but no object store", fileName)
		}
		return filepath.Join(s.ObjectsDir, filepath.Base(strings.TrimPrefix(target, "vsan://"))), nil
	}
	return filepath.Join(filepath.Dir(descPath), filepath.Base(target)), nil
}

// disk returns the tracked state of one VM disk, resolving it on first use (s.mu held).
func (s *v2sState) disk(vm *VirtualMachine, key int32) (*v2sDisk, error) {
	id := v2sDiskKey(vm.Self, key)
	if d, ok := s.disks[id]; ok {
		return d, nil
	}
	dev := v2sFindDisk(vm.Config.Hardware.Device, key)
	if dev == nil {
		return nil, fmt.Errorf("vm %s has no disk with key %d", vm.Self.Value, key)
	}
	b, ok := dev.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if !ok {
		return nil, fmt.Errorf("disk %d of vm %s has no flat file backing", key, vm.Self.Value)
	}
	path, err := s.v2sDataFile(v2sRootBacking(b).FileName)
	if err != nil {
		return nil, err
	}
	capacity := dev.CapacityInBytes
	if capacity == 0 {
		capacity = dev.CapacityInKB * 1024
	}
	d := &v2sDisk{vm: vm.Self, key: key, path: path, capacity: capacity,
		thin: b.ThinProvisioned != nil && *b.ThinProvisioned}
	s.disks[id] = d
	return d, nil
}

// vmDisks resolves every disk of a VM that has a readable descriptor (s.mu held).
func (s *v2sState) vmDisks(vm *VirtualMachine) []*v2sDisk {
	var out []*v2sDisk
	for _, dev := range vm.Config.Hardware.Device {
		if disk, ok := dev.(*types.VirtualDisk); ok {
			if d, err := s.disk(vm, disk.Key); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// level is how many deltas make up the content at a snapshot (-1: no such snapshot).
func (d *v2sDisk) level(snap *types.ManagedObjectReference) int {
	if snap == nil {
		return len(d.deltas)
	}
	for i, delta := range d.deltas {
		if delta.snap == *snap {
			return i
		}
	}
	return -1
}

// readAt fills buf with the disk content at a level (base + deltas[:level]); zeros past EOF.
func (d *v2sDisk) readAt(level int, buf []byte, off int64) error {
	for i := range buf {
		buf[i] = 0
	}
	f, err := os.Open(d.path)
	if err != nil {
		return err
	}
	_, err = f.ReadAt(buf, off)
	_ = f.Close()
	if err != nil && err != io.EOF {
		return err
	}
	for g := off / V2SGrain; g*V2SGrain < off+int64(len(buf)); g++ {
		for i := 0; i < level; i++ {
			data, ok := d.deltas[i].grains[g]
			if !ok {
				continue
			}
			gs := g * V2SGrain
			lo, hi := v2sMax(gs, off), v2sMin(gs+V2SGrain, off+int64(len(buf)))
			copy(buf[lo-off:hi-off], data[lo-gs:hi-gs])
		}
	}
	return nil
}

func v2sMax(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func v2sMin(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// write stores guest bytes: into the base file without snapshots, else into the last delta.
func (d *v2sDisk) write(data []byte, off int64) error {
	if off < 0 || off+int64(len(data)) > d.capacity {
		return fmt.Errorf("write [%d, %d) is outside the disk (%d bytes)", off, off+int64(len(data)), d.capacity)
	}
	if len(d.deltas) == 0 {
		return d.writeBase(data, off)
	}
	top := d.deltas[len(d.deltas)-1]
	for g := off / V2SGrain; g*V2SGrain < off+int64(len(data)); g++ {
		gs := g * V2SGrain
		grain, ok := top.grains[g]
		if !ok {
			grain = make([]byte, V2SGrain)
			if err := d.readAt(len(d.deltas), grain, gs); err != nil {
				return err
			}
			top.grains[g] = grain
		}
		lo, hi := v2sMax(gs, off), v2sMin(gs+V2SGrain, off+int64(len(data)))
		copy(grain[lo-gs:hi-gs], data[lo-off:hi-off])
	}
	return nil
}

func (d *v2sDisk) writeBase(data []byte, off int64) error {
	if err := v2sPrivate(d.path); err != nil {
		return err
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// v2sPrivate breaks a hard link (scenario disks are linked from the guest cache) before a write.
func v2sPrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || sys.Nlink <= 1 {
		return nil
	}
	tmp := path + ".v2s-private"
	if err := v2sSparseCopy(path, tmp, st.Size()); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func v2sSparseCopy(src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	buf := make([]byte, 1<<20)
	for _, r := range v2sDataRanges(in, size) {
		for off := r[0]; off < r[1]; {
			n := int(v2sMin(int64(len(buf)), r[1]-off))
			if _, err := in.ReadAt(buf[:n], off); err != nil && err != io.EOF {
				return err
			}
			if _, err := out.WriteAt(buf[:n], off); err != nil {
				return err
			}
			off += int64(n)
		}
	}
	return out.Truncate(size)
}

// v2sDataRanges lists the [start, end) ranges of a file that hold data (SEEK_DATA/SEEK_HOLE).
func v2sDataRanges(f *os.File, size int64) [][2]int64 {
	var out [][2]int64
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		start, err := syscall.Seek(fd, off, v2sSeekData)
		if err != nil || start >= size {
			break
		}
		end, err := syscall.Seek(fd, start, v2sSeekHole)
		if err != nil || end > size {
			end = size
		}
		out = append(out, [2]int64{start, end})
		off = end
	}
	return out
}

// allocated lists the 64 KiB blocks holding data at a level (sorted).
func (d *v2sDisk) allocated(level int) ([]int64, error) {
	set := map[int64]bool{}
	f, err := os.Open(d.path)
	if err != nil {
		return nil, err
	}
	size := v2sMin(d.capacity, v2sFileSize(f))
	for _, r := range v2sDataRanges(f, size) {
		for b := r[0] / V2SGrain; b*V2SGrain < r[1]; b++ {
			set[b] = true
		}
	}
	_ = f.Close()
	for i := 0; i < level; i++ {
		for g := range d.deltas[i].grains {
			set[g] = true
		}
	}
	return v2sSorted(set), nil
}

func v2sFileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

func v2sSorted(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for b := range set {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// snapshotTaken freezes the current content: later writes go to a new delta (s.mu held).
func (s *v2sState) snapshotTaken(vm *VirtualMachine, snap types.ManagedObjectReference) {
	s.snaps[snap] = vm.Self
	for _, d := range s.vmDisks(vm) {
		d.deltas = append(d.deltas, &v2sDelta{snap: snap, grains: map[int64][]byte{}, ctk: d.ctk, seq: d.seq})
	}
}

// snapshotRemoved merges the snapshot's delta into its parent's (or the base file) (s.mu held).
func (s *v2sState) snapshotRemoved(snap types.ManagedObjectReference) (types.ManagedObjectReference, error) {
	vmRef, ok := s.snaps[snap]
	if !ok {
		return vmRef, nil
	}
	delete(s.snaps, snap)
	var firstErr error
	for _, d := range s.disks {
		if d.vm != vmRef {
			continue
		}
		i := d.level(&snap)
		if i < 0 {
			continue
		}
		delta := d.deltas[i]
		if i == 0 {
			for _, g := range v2sSortedGrains(delta.grains) {
				data := delta.grains[g][:v2sMin(V2SGrain, d.capacity-g*V2SGrain)]
				if err := d.writeBase(data, g*V2SGrain); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		} else {
			for g, data := range delta.grains {
				d.deltas[i-1].grains[g] = data
			}
		}
		d.deltas = append(d.deltas[:i], d.deltas[i+1:]...)
	}
	return vmRef, firstErr
}

func v2sSortedGrains(m map[int64][]byte) []int64 {
	set := make(map[int64]bool, len(m))
	for g := range m {
		set[g] = true
	}
	return v2sSorted(set)
}

// reverted drops what was written since the snapshot when it is the latest one (s.mu held);
// the dropped blocks count as changed. Reverting further back (a snapshot tree) is not modelled.
func (s *v2sState) reverted(vm *VirtualMachine, snap types.ManagedObjectReference) {
	for _, d := range s.vmDisks(vm) {
		n := len(d.deltas)
		if n == 0 || d.deltas[n-1].snap != snap {
			continue
		}
		top := d.deltas[n-1]
		grains := v2sSortedGrains(top.grains)
		top.grains = map[int64][]byte{}
		if d.ctk != "" && len(grains) > 0 {
			d.seq++
			d.log = append(d.log, v2sChange{seq: d.seq, blocks: grains})
		}
	}
}
