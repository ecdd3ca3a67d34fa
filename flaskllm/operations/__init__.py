"""Handlers, one module per spec tag; connexion resolves the spec's operationIds here."""
