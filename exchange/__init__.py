"""The hub: gRPC services, authentication and authorisation, cases, the access log, storage, CLI and console."""
