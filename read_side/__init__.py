"""The read side: read-model schemas, the read store port, query functions.

It imports nothing else of the project.
"""
