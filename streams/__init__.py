"""Event contracts published to Kafka, the domain-event → contract mapping, and the relay."""
