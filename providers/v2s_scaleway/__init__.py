"""The Scaleway provider: Object Storage upload, Block snapshot import, image, server."""

DEFAULT_FOR = ("target",)  # entry point vmware2scw.default_roles: the target when unbound
