"""The reviewer console: server-rendered pages under ``/console`` of the HTTP service.

``console.routes.mount(app)`` adds it to ``api.app.create_app``'s app; templates and
static files ship inside this package (no build step, no external assets).
"""
