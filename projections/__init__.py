"""Projections: pure functions from contract events to read-model views, and the drivers
(a Faust agent in distributed mode, an in-process loop in embedded mode) that apply them."""
