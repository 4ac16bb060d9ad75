"""Hand-off to infrastructure as code: select records, render Terraform, mark them handed off."""
