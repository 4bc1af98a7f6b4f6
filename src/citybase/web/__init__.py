"""L4: the HTTP adaptor (FastAPI): routes per resource, the error table, auth and metering."""

from citybase.web.app import create_app

__all__ = ["create_app"]
