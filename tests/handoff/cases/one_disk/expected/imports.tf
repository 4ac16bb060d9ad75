# migration.web-01
import {
  to = scaleway_block_volume.web_01_disk0
  id = "fr-par-1/720f4a8a-8670-5ff7-966f-b9035ba995a8"
}

import {
  to = scaleway_instance_ip.web_01
  id = "fr-par-1/3be94c91-cbc6-560a-8bf4-2bd9ce720cfe"
}

import {
  to = scaleway_instance_server.web_01
  id = "fr-par-1/a71e8635-5233-5837-a8fa-2670273d3797"
}
