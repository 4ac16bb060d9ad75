"""The `test` provider: serves every resource type of docs/resources.md from a JSON store."""
