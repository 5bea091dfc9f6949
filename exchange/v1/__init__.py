"""Generated protobuf and gRPC code for the exchange.v1 API. Do not edit: run `make protos`."""
