"""The `v2s` sub-commands; each module registers its commands on the typer app."""
