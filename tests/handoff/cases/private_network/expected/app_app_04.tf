# migration.app["app.04"], handed off by v2s (state lineage 0a1b2c3d-0000-4000-8000-0000000ff0ff)

# root volume of migration.app["app.04"].scw_server, made from Block snapshot nl-ams-1/f854f08d-fccf-53c2-aaef-4048c2eaa430 (kept by v2s)
resource "scaleway_block_volume" "app_app_04_disk0" {
  name       = "app-disk0"
  iops       = 5000
  size_in_gb = 30
  zone       = "nl-ams-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app.04\"].scw_server",
    "migrated-from-vmware",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# data volume of migration.app["app.04"].scw_server, made from Block snapshot nl-ams-1/17098a3a-3f36-5db6-a52c-0b59471239e5 (kept by v2s)
resource "scaleway_block_volume" "app_app_04_disk1" {
  name       = "app-disk1"
  iops       = 5000
  size_in_gb = 5
  zone       = "nl-ams-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app.04\"].scw_server",
    "migrated-from-vmware",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# public IP 51.15.0.10 of migration.app["app.04"].scw_server
resource "scaleway_instance_ip" "app_app_04" {
  type = "routed_ipv4"
  zone = "nl-ams-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app.04\"].scw_server",
    "migrated-from-vmware",
  ]
}

# migration.app["app.04"].scw_server: the migrated server
resource "scaleway_instance_server" "app_app_04" {
  name  = "app"
  type  = "PRO2-S"
  zone  = "nl-ams-1"
  state = "started"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app.04\"].scw_server",
    "migrated-from-vmware",
  ]
  ip_id                 = scaleway_instance_ip.app_app_04.id
  additional_volume_ids = [scaleway_block_volume.app_app_04_disk1.id]

  root_volume {
    volume_id = scaleway_block_volume.app_app_04_disk0.id
  }

  lifecycle {
    ignore_changes = [image, ip_id, private_network]
  }
}

# private NIC 0 of migration.app["app.04"].scw_server
resource "scaleway_instance_private_nic" "app_app_04_nic0" {
  server_id          = scaleway_instance_server.app_app_04.id
  private_network_id = "nl-ams/bbbbbbbb-0000-4000-8000-00000000000b"
  zone               = "nl-ams-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.app[\"app.04\"].scw_server",
  ]
}
