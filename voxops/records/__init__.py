"""Call records of finished calls: the schema and the SQLite/PostgreSQL store."""
