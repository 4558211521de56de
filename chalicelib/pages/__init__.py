"""Pages people see in a browser: rendered with Jinja2 (autoescape) in their language."""
