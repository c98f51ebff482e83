"""The console and the read API: FastAPI routers, Jinja2 templates, static htmx and CSS."""
