"""Data stores of an environment: PostgreSQL (RDS), Redis (ElastiCache), their logins and rotation, backups."""
