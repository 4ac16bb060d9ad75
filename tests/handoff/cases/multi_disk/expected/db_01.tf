# migration.db-01, handed off by v2s (state lineage 0a1b2c3d-0000-4000-8000-0000000ff0ff)

# root volume of migration.db-01.scw_server, made from Block snapshot fr-par-1/c2d2af24-a36f-5ac0-a670-be7c6c9185bd (kept by v2s)
resource "scaleway_block_volume" "db_01_disk0" {
  name       = "db-01-disk0"
  iops       = 15000
  size_in_gb = 10
  zone       = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.db-01.scw_server",
    "db",
    "prod",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# data volume of migration.db-01.scw_server, made from Block snapshot fr-par-1/5e63c66c-066e-55ab-849f-e81861f64ca8 (kept by v2s)
resource "scaleway_block_volume" "db_01_disk1" {
  name       = "db-01-disk1"
  iops       = 15000
  size_in_gb = 50
  zone       = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.db-01.scw_server",
    "db",
    "prod",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# data volume of migration.db-01.scw_server, made from Block snapshot fr-par-1/b953dd76-a03c-5a63-9c63-20d28dd4af6d (kept by v2s)
resource "scaleway_block_volume" "db_01_disk2" {
  name       = "db-01-disk2"
  iops       = 15000
  size_in_gb = 200
  zone       = "fr-par-1"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.db-01.scw_server",
    "db",
    "prod",
  ]

  lifecycle {
    ignore_changes = [snapshot_id]
  }
}

# migration.db-01.scw_server: the migrated server
resource "scaleway_instance_server" "db_01" {
  name  = "db-01"
  type  = "PRO2-S"
  zone  = "fr-par-1"
  state = "started"
  tags = [
    "v2s-lineage=0a1b2c3d-0000-4000-8000-0000000ff0ff",
    "v2s-address=migration.db-01.scw_server",
    "db",
    "prod",
  ]
  security_group_id     = "fr-par-1/5ec0c0de-0000-4000-8000-000000005ec0"
  enable_dynamic_ip     = true
  additional_volume_ids = [scaleway_block_volume.db_01_disk1.id, scaleway_block_volume.db_01_disk2.id]

  root_volume {
    volume_id = scaleway_block_volume.db_01_disk0.id
  }

  lifecycle {
    ignore_changes = [image]
  }
}
