"""The write side: aggregates, commands, domain errors and the application service.

It imports nothing else of the project; everything else depends on it.
"""
