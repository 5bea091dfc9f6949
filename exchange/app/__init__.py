"""The application layer: the use cases between the edges (gRPC servicers, console, CLI) and the domain
and storage below. It maps storage rows to the domain's types (grants, access requests, cases, the policy's
facts) and answers the queries the edges ask, so that edges only parse, call and convert."""
