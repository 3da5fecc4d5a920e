"""Pulse's pipeline: the database and the stages that read and write it."""
__version__ = "0.1.0"
