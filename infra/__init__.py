"""Infrastructure: settings, adapters (Postgres, Kafka), migrations, wiring and the CLI."""
