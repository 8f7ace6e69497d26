"""Dateline's web app (REST API and chat page): a thin layer over ``qa.Archive``, arriving with the REST issue."""
