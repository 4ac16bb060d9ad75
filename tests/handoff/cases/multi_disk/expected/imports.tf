# migration.db-01
import {
  to = scaleway_block_volume.db_01_disk0
  id = "fr-par-1/a7a7fd24-caf1-5836-abb1-f33c4de2be91"
}

import {
  to = scaleway_block_volume.db_01_disk1
  id = "fr-par-1/13feb980-174e-5700-8579-21014eaea9fd"
}

import {
  to = scaleway_block_volume.db_01_disk2
  id = "fr-par-1/9dd82ba3-9730-506e-a18e-057220e21fc3"
}

import {
  to = scaleway_instance_server.db_01
  id = "fr-par-1/f87a8c50-7885-508d-92b0-e87a55ac8e98"
}
