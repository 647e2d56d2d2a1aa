"""How operators watch Itinera: metrics, logs, traces and health."""
