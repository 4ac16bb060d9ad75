// v2s lab extension: a vSAN-like datastore (descriptors only; disk objects kept outside it).
package simulator

import (
	"context"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// V2SAddVsan mounts a datastore of summary.type "vsan" on every host, and makes the object
// store its "vsan://" extents live in (returns the datastore directory and the object store).
func (m *Model) V2SAddVsan(name string) (string, string, error) {
	dir, err := m.createTempDir("DC0", name)
	if err != nil {
		return "", "", err
	}
	objects, err := m.createTempDir("DC0", name+"-objects")
	if err != nil {
		return "", "", err
	}
	ctx := context.Background()
	for _, obj := range Map.All("HostSystem") {
		host := object.NewHostSystem(m.Service.client, obj.Reference())
		dss, err := host.ConfigManager().DatastoreSystem(ctx)
		if err != nil {
			return "", "", err
		}
		if _, err := dss.CreateLocalDatastore(ctx, name, dir); err != nil {
			return "", "", err
		}
	}
	for _, obj := range Map.All("Datastore") {
		if ds := obj.(*Datastore); ds.Name == name {
			ds.Summary.Type = string(types.HostFileSystemVolumeFileSystemTypeVsan)
		}
	}
	V2S.ObjectsDir = objects
	return dir, objects, nil
}
