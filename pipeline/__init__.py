"""Pulse's pipeline: the store and the stages that read and write it; `app.py` and `cli.py` sit on top."""
__version__ = "0.1.0"
