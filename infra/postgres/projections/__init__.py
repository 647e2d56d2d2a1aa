"""The projection engine's store on PostgreSQL: each projection's tables (its state, tracking
and dead letters), live or as a rebuild's shadow, and the swap between them."""
