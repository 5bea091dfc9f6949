"""A dataset's key checked against the dataset's key format: the adapter checks the keys it is asked for
and announces, the hub the keys it forwards, with the same error."""

from __future__ import annotations

from catalog.identifiers import KeyFormat, validate_key
from catalog.model import Dataset
from exchange.errors import FieldViolation, InvalidArgument


def dataset_key(ds: Dataset, key: str) -> str:
    """The normalised key, or InvalidArgument naming the dataset, its key format and what is wrong."""
    try:
        return validate_key(KeyFormat(ds.key_format), key)
    except InvalidArgument as error:
        raise InvalidArgument(
            f"{ds.code} is keyed by {ds.key_format.value}: {error.message}",
            reason=error.reason,
            violations=[FieldViolation("key", error.message)],
        ) from None
