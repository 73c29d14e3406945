"""The ASGI app: settings, lifespan, routes, authentication, command line, jobs."""
