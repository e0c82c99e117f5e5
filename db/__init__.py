"""The service's storage: SQLAlchemy models, sessions, migrations, the queries the API and worker share."""
