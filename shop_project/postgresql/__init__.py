"""The shop's PostgreSQL backend (DATABASES ENGINE): Django's, with a cheaper health check."""
