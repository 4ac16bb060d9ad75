"""vmware2scw: declarative plan/apply migration of VMware vSphere VMs to Scaleway."""

__version__ = "0.1.0"
