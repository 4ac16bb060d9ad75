# migration.web-01, handed off by v2s (state lineage 0a1b2c3d-0000-4000-8000-0000000ff0ff)

# root volume of migration.web-01.scw_server, made from Block snapshot fr-par-1/88cac9a4-6ee5-5d60-97a7-0fc026827a81 (kept by v2s)
resource "scaleway_block_volume" "web_01_disk0" {
  name       = "web-01-disk0"
  iops       = 5000
  size_in_gb = 20
  zone       = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.web-01.scw_server",
    "migrated-from-vmware",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# public IP 51.15.0.10 of migration.web-01.scw_server
resource "scaleway_instance_ip" "web_01" {
  type = "routed_ipv4"
  zone = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.web-01.scw_server",
    "migrated-from-vmware",
  ]
}

# migration.web-01.scw_server: the migrated server
resource "scaleway_instance_server" "web_01" {
  name  = "web-01"
  type  = "PRO2-S"
  zone  = "fr-par-1"
  state = "started"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.web-01.scw_server",
    "migrated-from-vmware",
  ]
  ip_id = scaleway_instance_ip.web_01.id

  root_volume {
    volume_id = scaleway_block_volume.web_01_disk0.id
  }

  lifecycle {
    ignore_changes = [image, ip_id]
  }
}
