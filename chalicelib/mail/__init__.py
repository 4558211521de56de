"""Emails: rendering (Jinja2 + the catalogs) and MIME assembly."""
