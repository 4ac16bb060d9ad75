"""The Scaleway provider: Object Storage upload, Block snapshot import, image, server."""
