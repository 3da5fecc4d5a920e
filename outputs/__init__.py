"""Stored rows turned into text: briefs and their pages, the nightly digest and Atom feed, e-mail, the web page.

Signals are computed in Python, wording lives in Jinja2 templates under `outputs/templates/`. Reads and
writes the archive only through `pipeline.store`; the stages here are wired into the night by `pipeline.app`.
"""
