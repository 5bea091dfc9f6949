"""The bulk consumer (in the load process): drain one Arrow stream, decoding every batch, for at most a time."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import pyarrow as pa
import pyarrow.flight as flight

from bench.load import MAX_MESSAGE, Identity
from bench.tls import ChannelTls, sync_channel
from exchange.errors import ExchangeError


@dataclass(frozen=True)
class DrainSpec:
    kind: str  # "flight" or "grpc" (a server stream of Arrow IPC messages: adapter or hub Scan)
    address: str
    request: bytes
    method: str = ""
    seconds: float = 120.0
    identity: Identity | None = None
    # TLS to the server (Flight: grpc+tls with the same certificates); None: plain text.
    tls: ChannelTls | None = None


@dataclass
class DrainOutcome:
    rows: int = 0
    arrow_bytes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the consumer process's CPU during the transfer
    error: str = ""


def _metadata(identity: Identity | None) -> tuple[tuple[str, str], ...] | None:
    if identity is None:
        return None
    from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
    from exchange.auth.keys import load_private_key
    from exchange.auth.tokens import mint_token

    token = mint_token(
        load_private_key(identity.key_pem),
        issuer=identity.department,
        kid=identity.kid,
        subject=identity.officer,
        roles=(Role.OFFICER,),
        audience=HUB_AUDIENCE_DEFAULT,
    )
    return (("authorization", f"Bearer {token}"),)


def _drain_flight(spec: DrainSpec, out: DrainOutcome, stop_at: float) -> None:
    if spec.tls is None:
        client = flight.connect(spec.address)
    else:
        client = flight.connect(
            spec.address, tls_root_certs=spec.tls.ca, cert_chain=spec.tls.cert, private_key=spec.tls.key
        )
    try:
        reader = client.do_get(flight.Ticket(spec.request))
        for chunk in reader:
            out.rows += chunk.data.num_rows
            out.arrow_bytes += chunk.data.get_total_buffer_size()
            if time.perf_counter() > stop_at:
                break
    finally:
        client.close()


def _drain_grpc(spec: DrainSpec, out: DrainOutcome, stop_at: float) -> None:
    # Both scan responses carry arrow_schema = 1, arrow_batch = 2, rows = 3, chain = 5. The first (schema, and
    # the hub's receipt) is parsed; each batch is decoded in place from the received bytes, as Flight's client
    # does, and its chain link checked, as exchange.client does (the manifest's one Ed25519 check is left out).
    from adapters.bulk import DigestChain
    from adapters.ipc import is_manifest_response, split_chained_response
    from exchange.v1 import exchange_pb2

    options = [("grpc.max_receive_message_length", MAX_MESSAGE)]
    with sync_channel(spec.address, spec.tls, options) as channel:
        call: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(spec.method)
        schema: pa.Schema | None = None
        chain = DigestChain(None, spec.address)
        for raw in call(spec.request, metadata=_metadata(spec.identity)):
            if schema is None:
                schema = pa.ipc.read_schema(pa.py_buffer(exchange_pb2.ScanResponse.FromString(raw).arrow_schema))
                continue
            if is_manifest_response(raw):
                continue
            _, message, link = split_chained_response(raw, spec.address)
            if not message:
                continue
            batch = pa.ipc.read_record_batch(pa.py_buffer(message), schema)
            chain.check(message, batch.num_rows, link)
            out.rows += batch.num_rows
            out.arrow_bytes += batch.get_total_buffer_size()
            if time.perf_counter() > stop_at:
                break


def drain(spec: DrainSpec) -> DrainOutcome:
    """Entry point in the load process."""
    out = DrainOutcome()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        if spec.kind == "flight":
            _drain_flight(spec, out, started + spec.seconds)
        else:
            _drain_grpc(spec, out, started + spec.seconds)
    except grpc.RpcError as error:
        out.error = f"{error.code().name}: {error.details()}" if isinstance(error, grpc.Call) else str(error)
    except (flight.FlightError, pa.ArrowException, ExchangeError) as error:
        out.error = f"{type(error).__name__}: {error}"[:500]
    out.seconds = time.perf_counter() - started
    out.cpu_seconds = time.process_time() - cpu_started
    return out
