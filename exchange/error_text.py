"""An error said in the caller's language: the text of google.rpc.LocalizedMessage, by reason code.

The English `message` of an error is written where it is raised and names the values at fault;
a translation cannot follow free text, so the translated text is chosen by the error's *reason*
(a template per reason, filled from the ErrorInfo metadata) and falls back to a sentence per
status class that names the reason code. The English LocalizedMessage is the error's own message.

Default language for machines: English, unless the caller's ``accept-language`` asks otherwise.
A department system reads the reason code, not the text; a Chinese text nobody asked for would
only make its logs harder to search. People (the console, the CLI under a Chinese locale) ask.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from google.protobuf import any_pb2
from google.rpc import error_details_pb2

from exchange import errors as e
from exchange import i18n
from exchange.i18n import N_
from exchange.policy import sentences

# Templates may name only metadata keys the raising code sets; a missing key falls back to the class text.
BY_REASON: dict[str, str] = {
    "ROLE_NOT_ALLOWED": N_("reason.ROLE_NOT_ALLOWED", "Your token's roles do not allow this operation."),
    "DATASET_NOT_SHARED": N_("reason.DATASET_NOT_SHARED", "This dataset is not shared; no grant can allow reading it."),
    "DATASET_NOT_PUBLISHED": N_("reason.DATASET_NOT_PUBLISHED", "This dataset is a draft and cannot be fetched yet."),
    "DATASET_NOT_FOUND": N_("reason.DATASET_NOT_FOUND", "No dataset in the catalog has this code."),
    "PURPOSE_REQUIRED": N_("reason.PURPOSE_REQUIRED", "A fetch must name the case it is for (purpose.case_id)."),
    "PURPOSE_MISMATCH": N_("reason.PURPOSE_MISMATCH", "The case is for a different service item than the one named."),
    "CASE_CLOSED": N_("reason.CASE_CLOSED", "The case is no longer open; data can be fetched only for open cases."),
    "CASE_NOT_INVOLVING_CALLER": N_(
        "reason.CASE_NOT_INVOLVING_CALLER", "Your department is neither the lead nor a co-reviewer of this case."
    ),
    "DATASET_NOT_REQUIRED": N_(
        "reason.DATASET_NOT_REQUIRED", "The case's service item does not require this dataset, so it is no purpose."
    ),
    "SUBJECT_NOT_ON_CASE": N_(
        "reason.SUBJECT_NOT_ON_CASE",
        "The person or company whose data was asked for is neither the applicant nor a party of this case.",
    ),
    "NO_GRANT": N_("reason.NO_GRANT", "Your department holds no grant on this dataset; ask its owner for one."),
    "GRANT_REVOKED": N_("reason.GRANT_REVOKED", "Your department's grant on this dataset was revoked."),
    "GRANT_EXPIRED": N_("reason.GRANT_EXPIRED", "Your department's grant on this dataset has expired."),
    "GRANT_NOT_YET_VALID": N_(
        "reason.GRANT_NOT_YET_VALID", "Your department's grant on this dataset is not valid yet."
    ),
    "GRANT_NOT_FOR_PURPOSE": N_(
        "reason.GRANT_NOT_FOR_PURPOSE", "No grant of your department on this dataset covers this service item."
    ),
    "ACCESS_REQUEST_PENDING": N_(
        "reason.ACCESS_REQUEST_PENDING", "Your access request for this dataset awaits the owner's answer."
    ),
    "ACCESS_REQUEST_DENIED": N_(
        "reason.ACCESS_REQUEST_DENIED", "The owner of this dataset denied your department's access request."
    ),
    "FIELD_NOT_GRANTED": N_(
        "reason.FIELD_NOT_GRANTED", "A field asked for is not covered by a grant together with this service item."
    ),
    "UNKNOWN_FIELD": N_("reason.UNKNOWN_FIELD", "A field asked for is not in the dataset's schema."),
    "KEY_NOT_FOUND": N_("reason.KEY_NOT_FOUND", "Nothing is held under this key (a record key or a key id)."),
    "QUOTA_EXCEEDED": N_(
        "reason.QUOTA_EXCEEDED", "Your department's rate quota on this dataset is used up; retry later."
    ),
    "NOT_OWNER": N_(
        "reason.NOT_OWNER", "Only the owning department's administrators or a hub administrator may do this."
    ),
    "NOT_INVOLVED": N_("reason.NOT_INVOLVED", "Your department is not involved in case {case}."),
    "NOT_OWN_DEPARTMENT": N_("reason.NOT_OWN_DEPARTMENT", "You may do this for your own department only."),
    "NOT_PARTY_TO_ENTRY": N_(
        "reason.NOT_PARTY_TO_ENTRY",
        "Only the parties to this log entry, auditors and hub administrators may have its evidence bundle.",
    ),
    "GRANT_NOT_FOUND": N_("reason.GRANT_NOT_FOUND", "No grant with this id that you may see."),
    "ACCESS_REQUEST_NOT_FOUND": N_(
        "reason.ACCESS_REQUEST_NOT_FOUND", "No access request with this id that you may see."
    ),
    "OPERATION_UNKNOWN": N_("reason.OPERATION_UNKNOWN", "This operation is not in the hub's policy; nobody may do it."),
    "NOT_LEAD_DEPARTMENT": N_("reason.NOT_LEAD_DEPARTMENT", "Only the lead department of case {case} may do this."),
    "CASE_NOT_OPEN": N_("reason.CASE_NOT_OPEN", "Case {case} is {state}; this needs an open case."),
    "DEPARTMENT_NOT_FOUND": N_("reason.DEPARTMENT_NOT_FOUND", "No department is registered under this code."),
    "SERVICE_ITEM_NOT_FOUND": N_("reason.SERVICE_ITEM_NOT_FOUND", "No service item is registered under this code."),
    "ROLE_NOT_HELD": N_("reason.ROLE_NOT_HELD", "The hub has not given you a role the token claims."),
    "TOKEN_CLAIMS_INVALID": N_("reason.TOKEN_CLAIMS_INVALID", "The token's claims are invalid; sign a new token."),
    "REASON_REQUIRED": N_("reason.REASON_REQUIRED", "Give a reason: it is written to the access log."),
    "VERSION_CONFLICT": N_("reason.VERSION_CONFLICT", "Someone changed this in the meantime; read it again and retry."),
    "SCAN_CHAIN_BROKEN": N_(
        "reason.SCAN_CHAIN_BROKEN",
        "A batch of the scan did not follow from the one before (dropped, reordered, duplicated or altered); "
        "the scan was stopped and logged, and the rows received cannot be trusted.",
    ),
    "SCAN_MANIFEST_INVALID": N_(
        "reason.SCAN_MANIFEST_INVALID",
        "The issuer's signed manifest does not match the scan received; the scan was logged and its rows cannot "
        "be trusted.",
    ),
    "SCAN_MANIFEST_MISSING": N_(
        "reason.SCAN_MANIFEST_MISSING",
        "The scan ended without the issuer's signed manifest (cut short); it was logged and its rows cannot be "
        "trusted.",
    ),
    "ANNOTATED_COPY_FONT_MISSING": N_(
        "reason.ANNOTATED_COPY_FONT_MISSING",
        "The annotated copy's font file (annotated_copy_font) is missing; install fonts-noto-cjk or name another "
        "Chinese OpenType font.",
    ),
    "SETTINGS": N_(
        "reason.SETTINGS", "These settings are wrong: {settings}. Each is named below with what it expects."
    ),
    "ANNOTATED_COPY_FONT_INVALID": N_(
        "reason.ANNOTATED_COPY_FONT_INVALID",
        "The annotated copy's font file (annotated_copy_font) is not an OpenType or TrueType font; name another "
        "Chinese font.",
    ),
}

BY_CLASS: dict[type[e.ExchangeError], str] = {
    e.InvalidArgument: N_("class.InvalidArgument", "The request is not valid (reason {reason}); correct it and retry."),
    e.NotFound: N_("class.NotFound", "What was asked for does not exist (reason {reason})."),
    e.AlreadyExists: N_("class.AlreadyExists", "This already exists (reason {reason})."),
    e.FailedPrecondition: N_("class.FailedPrecondition", "This cannot be done in the current state (reason {reason})."),
    e.Aborted: N_("class.Aborted", "A concurrent change won (reason {reason}); read again and retry."),
    e.Unauthenticated: N_("class.Unauthenticated", "Your identity could not be verified (reason {reason})."),
    e.PermissionDenied: N_("class.PermissionDenied", "The request was refused (reason {reason})."),
    e.ResourceExhausted: N_("class.ResourceExhausted", "A limit was reached (reason {reason}); retry later."),
    e.Unavailable: N_("class.Unavailable", "A service needed is unavailable (reason {reason}); retry later."),
    e.DeadlineExceeded: N_("class.DeadlineExceeded", "The call took too long (reason {reason})."),
    e.DataLoss: N_("class.DataLoss", "Stored data is damaged (reason {reason}); tell the hub operator."),
}
GENERAL = N_("class.ExchangeError", "The request failed (reason {reason}).")


def _class_template(error: e.ExchangeError) -> tuple[str, str]:
    """(context, English template) of the error's nearest class."""
    for cls in type(error).__mro__:
        if cls in BY_CLASS:
            return f"class.{cls.__name__}", BY_CLASS[cls]
    return "class.ExchangeError", GENERAL


def _template(error: e.ExchangeError) -> tuple[str, str]:
    """(context, English template) for the error: its reason's, else its class's."""
    if error.reason in BY_REASON:
        return f"reason.{error.reason}", BY_REASON[error.reason]
    return _class_template(error)


def _fill(template: str, values: Mapping[str, str]) -> str | None:
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        return None


def localized_text(error: e.ExchangeError, language: str) -> str:
    """The error for a person reading `language`: English is the error's own message."""
    if language == "en":
        return error.message
    # A policy refusal says its own sentence (whose thing, who may, for whom the caller acts).
    said = sentences.said_in(error.metadata, language)
    if said is not None:
        return said
    context, template = _template(error)
    values = {**{k: v[:128] for k, v in error.metadata.items()}, "reason": error.reason}
    text = _fill(i18n.translate(context, template, language), values)
    if text is None:  # a template naming metadata this raise site did not set
        context, template = _class_template(error)
        text = _fill(i18n.translate(context, template, language), values) or error.reason
    return text


def translated_for_people(error: e.ExchangeError, language: str) -> str:
    """The error's own translation (its sentence, else by reason) in a language other than English, else ''."""
    if language == "en" or (error.reason not in BY_REASON and sentences.said_in(error.metadata, language) is None):
        return ""
    return localized_text(error, language)


def localized_detail(error: e.ExchangeError, language: str) -> any_pb2.Any:
    """The google.rpc.LocalizedMessage detail for a status, in `language` (a BCP 47 tag)."""
    packed = any_pb2.Any()
    text = e.bounded(localized_text(error, language))
    packed.Pack(error_details_pb2.LocalizedMessage(locale=language, message=text))
    return packed


def language_of_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The language an `accept-language` call metadata asks for; English when none is asked."""
    for key, value in tuple(metadata or ()):
        if key == "accept-language" and isinstance(value, str):
            return i18n.from_accept_language(value[:256], "en") or "en"
    return "en"
