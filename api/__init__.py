"""Dateline's web app: the REST API and the chat page, a thin layer over ``qa.Archive``."""

from api.app import create_app

__all__ = ["create_app"]
