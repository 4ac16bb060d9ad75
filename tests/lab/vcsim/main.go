// v2s-vcsim: a vCenter simulator for the v2s lab, built on Debian's govmomi
// simulator library (which ships the library but not the vcsim program).
//
// It serves a VPX model over TLS with a certificate it generates itself
// (ECDSA P-256, SAN 127.0.0.1 — the library's default key is 1024-bit RSA),
// writes that certificate to -certout, prints one JSON line describing the
// endpoint, and runs until stdin closes (the parent's lifeline) or a signal
// arrives; it then removes the model's datastore directories.
//
// It adds two lab-only endpoints: POST /v2s/patch gives a VM the features the
// library cannot create through CreateVM (an RDM disk panics it) or does not
// model (encryption, vTPM, vGPU, changeVersion); POST /v2s/write writes guest
// bytes into a running VM's disk. The simulator package is extended at build
// time (simext/: changed block tracking, NFC export, a vSAN-like datastore and
// a read throughput limit; see docs/lab.md).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type started struct {
	URL        string            `json:"url"`
	Username   string            `json:"username"`
	Password   string            `json:"password"`
	Thumbprint string            `json:"thumbprint"`
	CertFile   string            `json:"cert_file"`
	Datastores map[string]string `json:"datastores"`
	Objects    string            `json:"vsan_objects"`
	PID        int               `json:"pid"`
}

type patchRequest struct {
	VM    string `json:"vm"`    // moref value, e.g. "vm-42"
	Op    string `json:"op"`    // rdm | encrypt | vtpm | vgpu | change_version
	Value string `json:"value"` // op argument (vgpu profile, change version, RDM mode)
}

func makeCert(certOut string) (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	ski := sha1.Sum(pub)
	tmpl := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"v2s lab vcsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := ioutil.WriteFile(certOut, pemBytes, 0o600); err != nil {
		return tls.Certificate{}, "", err
	}
	sum := sha1.Sum(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, strings.Join(parts, ":"), nil
}

func nextUnit(devices []types.BaseVirtualDevice, controller int32) int32 {
	used := map[int32]bool{7: true} // SCSI unit 7 is the controller itself
	for _, d := range devices {
		dev := d.GetVirtualDevice()
		if dev.ControllerKey == controller && dev.UnitNumber != nil {
			used[*dev.UnitNumber] = true
		}
	}
	for u := int32(0); ; u++ {
		if !used[u] {
			return u
		}
	}
}

func nextKey(devices []types.BaseVirtualDevice, base int32) int32 {
	k := base
	for _, d := range devices {
		if key := d.GetVirtualDevice().Key; key >= k {
			k = key + 1
		}
	}
	return k
}

func patchVM(vm *simulator.VirtualMachine, req patchRequest) error {
	devices := vm.Config.Hardware.Device
	switch req.Op {
	case "rdm":
		var controller int32 = -1
		var ds *types.ManagedObjectReference
		for _, d := range devices {
			if disk, ok := d.(*types.VirtualDisk); ok {
				controller = disk.ControllerKey
				if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
					ds = b.GetVirtualDeviceFileBackingInfo().Datastore
				}
				break
			}
		}
		if controller < 0 {
			return fmt.Errorf("vm %s has no disk controller to attach an RDM to", req.VM)
		}
		mode := req.Value
		if mode == "" {
			mode = "physicalMode"
		}
		unit := nextUnit(devices, controller)
		disk := &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key:           nextKey(devices, 2000),
				DeviceInfo:    &types.Description{Label: "Hard disk (RDM)", Summary: "RDM"},
				ControllerKey: controller,
				UnitNumber:    &unit,
				Backing: &types.VirtualDiskRawDiskMappingVer1BackingInfo{
					VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
						FileName:  "[LocalDS_0] " + vm.Name + "/" + vm.Name + "-rdm.vmdk",
						Datastore: ds,
					},
					LunUuid:           "0200000000600508b1001c" + strings.Repeat("0", 10),
					DeviceName:        "/vmfs/devices/disks/naa.600508b1001c",
					CompatibilityMode: mode,
					DiskMode:          "independent_persistent",
				},
			},
			CapacityInKB: 10 * 1024 * 1024,
		}
		vm.Config.Hardware.Device = append(devices, disk)
	case "encrypt":
		vm.Config.KeyId = &types.CryptoKeyId{KeyId: "v2s-lab-key", ProviderId: &types.KeyProviderId{Id: "v2s-lab-kms"}}
	case "vtpm":
		vm.Config.Hardware.Device = append(devices, &types.VirtualTPM{
			VirtualDevice: types.VirtualDevice{
				Key:        nextKey(devices, 11000),
				DeviceInfo: &types.Description{Label: "TPM", Summary: "Virtual TPM"},
			},
		})
	case "vgpu":
		profile := req.Value
		if profile == "" {
			profile = "grid_t4-4q"
		}
		vm.Config.Hardware.Device = append(devices, &types.VirtualPCIPassthrough{
			VirtualDevice: types.VirtualDevice{
				Key:        nextKey(devices, 13000),
				DeviceInfo: &types.Description{Label: "PCI device 0", Summary: "NVIDIA GRID vGPU " + profile},
				Backing:    &types.VirtualPCIPassthroughVmiopBackingInfo{Vgpu: profile},
			},
		})
	case "change_version":
		vm.Config.ChangeVersion = req.Value
	default:
		return fmt.Errorf("unknown op %q", req.Op)
	}
	return nil
}

func servePatch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req patchRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: req.VM}
	obj := simulator.Map.Get(ref)
	vm, ok := obj.(*simulator.VirtualMachine)
	if !ok {
		http.Error(w, "no such vm "+req.VM, http.StatusNotFound)
		return
	}
	var err error
	simulator.Map.WithLock(vm, func() { err = patchVM(vm, req) })
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	certOut := flag.String("certout", "", "write the generated server certificate (PEM) here")
	vms := flag.Int("vm", 2, "VMs per resource pool")
	clusterHosts := flag.Int("host", 3, "hosts per cluster")
	hosts := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	datastores := flag.Int("ds", 1, "datastores")
	autostart := flag.Bool("autostart", true, "power on the model's VMs")
	username := flag.String("username", "user", "login user name")
	password := flag.String("password", "pass", "login password")
	idle := flag.Duration("session-idle", 0, "expire sessions idle this long (0: never)")
	removeOnExit := flag.String("remove-on-exit", "", "directory to delete on exit (the lab's private dir)")
	vsan := flag.String("vsan", "vsanDatastore", "name of a vSAN-like datastore to add (empty: none)")
	readLimit := flag.Float64("read-limit", 0, "bytes/s for datastore and NFC reads together (0: no limit)")
	leaseTimeout := flag.Int("nfc-lease-timeout", 300, "seconds before an idle NFC lease expires")
	pageAreas := flag.Int("cbt-page-areas", 1024, "changed areas per QueryChangedDiskAreas answer")
	deltaNames := flag.Bool("delta-names", false, "name disks' redo logs as ESXi does while snapshots exist")
	flag.Parse()
	if *removeOnExit != "" {
		defer os.RemoveAll(*removeOnExit)
	}
	simulator.SessionIdleTimeout = *idle

	model := simulator.VPX()
	model.Machine = *vms
	model.ClusterHost = *clusterHosts
	model.Host = *hosts
	model.Cluster = *clusters
	model.Datastore = *datastores
	model.Autostart = *autostart
	var err error
	if err = model.Create(); err != nil {
		log.Fatalf("create model: %v", err)
	}
	defer model.Remove()
	simulator.V2SInstall()
	simulator.V2S.Limiter.Rate = *readLimit
	simulator.V2S.LeaseTTL = int32(*leaseTimeout)
	simulator.V2S.PageAreas = *pageAreas
	simulator.V2S.DeltaNames = *deltaNames
	var objects string
	if *vsan != "" {
		if _, objects, err = model.V2SAddVsan(*vsan); err != nil {
			log.Fatalf("vsan datastore: %v", err)
		}
	}

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	model.Service.RegisterEndpoints = true
	var thumb string
	if *certOut != "" {
		cert, tp, err := makeCert(*certOut)
		if err != nil {
			log.Fatalf("certificate: %v", err)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		thumb = tp
	} else {
		model.Service.TLS = new(tls.Config)
	}
	model.Service.ServeMux = http.NewServeMux()
	model.Service.ServeMux.HandleFunc("/v2s/patch", servePatch)
	model.Service.ServeMux.HandleFunc("/v2s/write", simulator.V2SServeWrite)
	server := model.Service.NewServer()
	defer server.Close()
	// NewServer has started serving, but nobody knows the address before we print it.
	server.Config.Handler = simulator.V2SHandler(server.Config.Handler)
	if thumb == "" {
		thumb = server.CertificateInfo().ThumbprintSHA1
	}
	simulator.V2S.Thumbprint = thumb

	dirs := map[string]string{}
	for _, obj := range simulator.Map.All("Datastore") {
		ds := obj.(*simulator.Datastore)
		dirs[ds.Name] = ds.Info.GetDatastoreInfo().Url
	}
	u := *server.URL
	u.User = nil
	out, _ := json.Marshal(started{
		URL: u.String(), Username: *username, Password: *password, Thumbprint: thumb,
		CertFile: *certOut, Datastores: dirs, Objects: objects, PID: os.Getpid(),
	})
	fmt.Println(string(out))
	os.Stdout.Sync()

	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(ioutil.Discard, os.Stdin); done <- struct{}{} }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() { <-sig; done <- struct{}{} }()
	<-done
}

var _ mo.Reference = (*simulator.VirtualMachine)(nil)
