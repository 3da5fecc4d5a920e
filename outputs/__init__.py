"""Briefs, the nightly digest, the Atom feed and e-mail (issue 5): not built yet.

This package will turn stored rows into text: signals in Python, wording in
Jinja2 templates under `outputs/templates/`.
"""
