"""Database access: models, the one engine and sessionmaker, migrations."""
