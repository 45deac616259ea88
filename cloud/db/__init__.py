"""The cloud's database: SQLAlchemy 2 async models, engine and sessions, Alembic migrations."""
