"""The hub's PAdES signature on an annotated copy (pyHanko), with its document-signing certificate."""

from __future__ import annotations

import io
from dataclasses import dataclass

from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from exchange.errors import FailedPrecondition

FIELD_NAME = "HubSignature"


@dataclass(frozen=True)
class CopySigner:
    """Signs PDFs as the hub: PAdES baseline B-B, SHA-256, the hub CA's certificate carried in the CMS."""

    signer: signers.SimpleSigner
    location: str

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, ca_pem: bytes, *, location: str) -> CopySigner:
        """The signer from PEM key and certificates, or a FailedPrecondition that says what is wrong."""
        try:
            key = load_private_key_from_pemder_data(key_pem, passphrase=None)
            (certificate,) = tuple(load_certs_from_pemder_data(cert_pem))[:1]
            chain = tuple(load_certs_from_pemder_data(ca_pem))
        except (ValueError, TypeError) as error:
            raise FailedPrecondition(
                f"document_signing_key / document_signing_cert: cannot load the hub's document-signing key ({error}); "
                "run `exchange pki issue-document-signing`",
                reason="DOCUMENT_SIGNING_KEY_INVALID",
            ) from error
        registry = SimpleCertificateStore()
        registry.register_multiple(chain)
        return cls(signers.SimpleSigner(signing_cert=certificate, signing_key=key, cert_registry=registry), location)

    async def sign(self, pdf: bytes, *, reason: str) -> bytes:
        """`pdf` with the hub's signature over every byte but the signature's own (the whole document)."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=self.location,
        )
        out = await signers.async_sign_pdf(writer, meta, signer=self.signer)
        return bytes(out.getvalue())
