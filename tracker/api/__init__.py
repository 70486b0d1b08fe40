"""The JSON API for agency systems (/api/v1/): the same services and access rules as the web."""

API_PREFIX = "/api/v1/"
