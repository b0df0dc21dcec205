"""The container registry end to end: GHCR publishing rules, retention, migration, and the clusters' pull path."""
