# migration.app["app-03"]
import {
  to = scaleway_block_volume.app_app_03_disk0
  id = "fr-par-1/ef50a52e-3569-59a9-84cc-833f22ca13a9"
}

import {
  to = scaleway_instance_server.app_app_03
  id = "fr-par-1/62a731e5-e5dc-57b7-9ad1-cafc737ff844"
}

import {
  to = scaleway_instance_private_nic.app_app_03_nic0
  id = "fr-par-1/62a731e5-e5dc-57b7-9ad1-cafc737ff844/ddb3752f-1bca-5734-9e5f-47a7c98e1efd"
}

import {
  to = scaleway_instance_private_nic.app_app_03_nic1
  id = "fr-par-1/62a731e5-e5dc-57b7-9ad1-cafc737ff844/bc3dc921-9414-5333-a31d-9ff00ed1b452"
}

# migration.app["app.04"]
import {
  to = scaleway_block_volume.app_app_04_disk0
  id = "nl-ams-1/5acd3903-3a2c-5406-8094-cc4d27f98152"
}

import {
  to = scaleway_block_volume.app_app_04_disk1
  id = "nl-ams-1/3468f572-614f-52cb-803b-744dc6470558"
}

import {
  to = scaleway_instance_ip.app_app_04
  id = "nl-ams-1/a76d1352-2651-5e5c-852c-77f2b5eb01da"
}

import {
  to = scaleway_instance_server.app_app_04
  id = "nl-ams-1/37f8e7b1-7fe5-5a80-8395-84442532d7a3"
}

import {
  to = scaleway_instance_private_nic.app_app_04_nic0
  id = "nl-ams-1/37f8e7b1-7fe5-5a80-8395-84442532d7a3/aefce103-17fe-5a52-8f9a-74c32db4669b"
}
