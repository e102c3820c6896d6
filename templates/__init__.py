"""The Jinja2 templates and stylesheet of the HTML pages, installed as `harness.report.templates`."""
