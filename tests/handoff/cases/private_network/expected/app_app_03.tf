# migration.app["app-03"], handed off by v2s (state lineage 0a1b2c3d-0000-4000-8000-0000000ff0ff)

# root volume of migration.app["app-03"].scw_server, made from Block snapshot fr-par-1/d5a55d12-589a-5784-ac5e-1d154c119d52 (kept by v2s)
resource "scaleway_block_volume" "app_app_03_disk0" {
  name       = "app-disk0"
  iops       = 5000
  size_in_gb = 30
  zone       = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app-03\"].scw_server",
    "migrated-from-vmware",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# migration.app["app-03"].scw_server: the migrated server
resource "scaleway_instance_server" "app_app_03" {
  name  = "app"
  type  = "PRO2-S"
  zone  = "fr-par-1"
  state = "started"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app-03\"].scw_server",
    "migrated-from-vmware",
  ]

  root_volume {
    volume_id = scaleway_block_volume.app_app_03_disk0.id
  }

  lifecycle {
    ignore_changes = [image, private_network]
  }
}

# private NIC 0 of migration.app["app-03"].scw_server
resource "scaleway_instance_private_nic" "app_app_03_nic0" {
  server_id          = scaleway_instance_server.app_app_03.id
  private_network_id = "fr-par/aaaaaaaa-0000-4000-8000-00000000000a"
  zone               = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app-03\"].scw_server",
  ]
}

# private NIC 1 of migration.app["app-03"].scw_server
resource "scaleway_instance_private_nic" "app_app_03_nic1" {
  server_id          = scaleway_instance_server.app_app_03.id
  private_network_id = "fr-par/bbbbbbbb-0000-4000-8000-00000000000b"
  zone               = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app-03\"].scw_server",
  ]
}
