"""The tamper-evident access log: its pure core.

As in Tessera, the log itself (an append-only RFC 6962 Merkle tree, signed C2SP
checkpoints, inclusion and consistency proofs: ``merkle``, ``note``) is kept apart
from its personality (what an entry means and how it is encoded: ``entry``). On top
sit offline checks a third party runs with the hub's public key alone: evidence
bundles for one entry (``bundle``) and verification of a whole log, export or archive
(``verify``). The durable, group-committed log with proofs from stored nodes is
``log``; Parquet/CSV files are ``export``; what runs against the database with no
hub (export, verify, archive and prune) is ``offline``. Queries live in
``exchange.storage.log_store`` and the gRPC servicer in ``exchange.services.audit``.
"""

from exchange.audit.bundle import (
    BundleError,
    BundleFormatError,
    BundleIndexMismatch,
    EvidenceBundle,
    verify_bundle,
)
from exchange.audit.entry import (
    AccessLogEntry,
    EntryFormatError,
    decode_entry,
    encode_entry,
    entry_leaf_hash,
)
from exchange.audit.merkle import (
    EMPTY_ROOT,
    ConsistencyProofError,
    Frontier,
    InclusionProofError,
    ProofError,
    consistency_proof,
    consistency_proof_from_leaves,
    inclusion_proof,
    inclusion_proof_from_leaves,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)
from exchange.audit.note import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from exchange.audit.verify import LogRow, Problem, VerifyReport, verify_archive, verify_log

__all__ = [
    "EMPTY_ROOT",
    "AccessLogEntry",
    "BundleError",
    "BundleFormatError",
    "BundleIndexMismatch",
    "Checkpoint",
    "CheckpointError",
    "ConsistencyProofError",
    "EntryFormatError",
    "EvidenceBundle",
    "Frontier",
    "InclusionProofError",
    "LogRow",
    "NoteSigner",
    "NoteVerifier",
    "Problem",
    "ProofError",
    "VerifyReport",
    "consistency_proof",
    "consistency_proof_from_leaves",
    "decode_entry",
    "encode_entry",
    "entry_leaf_hash",
    "inclusion_proof",
    "inclusion_proof_from_leaves",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "subtree_hash",
    "verify_archive",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
