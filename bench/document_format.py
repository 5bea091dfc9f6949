"""CPU per document of format 1 and format 2, same run: adapter signing, hub verification and minimisation.

    PYTHONPATH=$PWD .venv/bin/python -m bench.document_format [--n 2000]

A business licence of 12 fields; the hub serves 8. Prints microseconds of CPU per document for each step
and the difference format 2 adds per fetch (signing at the adapter, verifying and minimising at the hub).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.signing import DocumentSigner, SignedDocument, canonical_json, verify_document

LICENCE: dict[str, Any] = {
    "unified_social_credit_code": "91110105MA01ABCD13",
    "name": "北京红灯笼餐饮有限公司",
    "company_type": "有限责任公司",
    "legal_representative": "王芳",
    "legal_representative_id": "110105198503020026",
    "registered_capital": "500000.00",
    "established_on": "2019-05-20",
    "address": "北京市东城区鼓楼东大街12号",
    "business_scope": "餐饮服务",
    "registration_authority": "北京市东城区市场监督管理局",
    "status": "01",
    "licence_id": "11100000000013338W03291110105MA01ABCD13",
}
SERVED = ("unified_social_credit_code", "name", "legal_representative", "address", "business_scope", "status",
          "licence_id", "established_on")  # fmt: skip


def cpu_us(step: Callable[[], Any], n: int) -> float:
    """Process CPU time per call, in microseconds."""
    start = time.process_time()
    for _ in range(n):
        step()
    return (time.process_time() - start) / n * 1e6


def measure(format_version: int, n: int) -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    signer = DocumentSigner("SAMR", "kid", key, format_version=format_version)
    keys = {"kid": key.public_key()}
    signed = signer.sign("business_licence", "1.0", "K", LICENCE)

    def sign() -> SignedDocument:
        return signer.sign("business_licence", "1.0", "K", LICENCE)

    def verify() -> None:
        verify_document(signed, lambda issuer, kid: keys.get(kid))

    def minimise() -> None:
        document = signed.document()
        returned = {name: document[name] for name in SERVED}
        canonical_json(returned)
        signed.minimised(SERVED)

    return {"sign": cpu_us(sign, n), "verify": cpu_us(verify, n), "minimise": cpu_us(minimise, n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n
    results = {fmt: measure(fmt, n) for fmt in (1, 2)}
    print("step       format1 µs  format2 µs  added µs")
    for step in ("sign", "verify", "minimise"):
        one, two = results[1][step], results[2][step]
        print(f"{step:9} {one:11.1f} {two:11.1f} {two - one:9.1f}")
    hub = sum(results[2][s] - results[1][s] for s in ("verify", "minimise"))
    print(f"added CPU per fetch: adapter {results[2]['sign'] - results[1]['sign']:.1f} µs, hub {hub:.1f} µs")


if __name__ == "__main__":
    main()
