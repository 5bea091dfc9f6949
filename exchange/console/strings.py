"""Every word the console shows: the English source table, translated through the gettext catalogues.

Templates call ``t("key", name=value)``; Python code calls ``text(...)``. Each English text is
marked ``N_(key, text)`` so ``make i18n-extract`` puts it in the catalogue with its key as the
context; the language comes from the request (exchange.i18n). A key missing here shows the key
itself, so a gap is visible rather than fatal; tests/unit/test_i18n.py keeps the catalogues complete.
"""

from __future__ import annotations

from typing import Any

from exchange import i18n, localtime
from exchange.app import console_accounts
from exchange.cases.timeline import STATE_NAMES
from exchange.i18n import N_
from exchange.policy.sentences import ROLE_NAMES

EN: dict[str, str] = {
    "app.name": N_("app.name", "Exchange console"),
    # navigation and common words
    "nav.catalog": N_("nav.catalog", "Catalog"),
    "nav.departments": N_("nav.departments", "Departments"),
    "nav.items": N_("nav.items", "Service items"),
    "nav.requests": N_("nav.requests", "Access requests"),
    "nav.cases": N_("nav.cases", "Cases"),
    "nav.log": N_("nav.log", "Access log"),
    "nav.report": N_("nav.report", "Citizen report"),
    "nav.signout": N_("nav.signout", "Sign out"),
    "nav.language": N_("nav.language", "Language"),
    "common.any": N_("common.any", "any"),
    "common.filter": N_("common.filter", "Filter"),
    "common.yes": N_("common.yes", "yes"),
    "common.no": N_("common.no", "no"),
    "common.one_of": N_("common.one_of", "one of: {options}"),
    # The roles' names are the policy's (its refusals name them too).
    **{f"role.{role}": name for role, name in ROLE_NAMES.items()},
    "nav.supervision": N_("nav.supervision", "Supervision"),
    # 电子监察 (supervision dashboard)
    "supervision.title": N_("supervision.title", "Supervision"),
    "supervision.hint": N_(
        "supervision.hint",
        "Time limits, warnings and figures per department and service item; metadata only, never document contents.",
    ),
    "supervision.from": N_("supervision.from", "From"),
    "supervision.to": N_("supervision.to", "To"),
    "supervision.period": N_("supervision.period", "Period: {since} to {until}"),
    "supervision.reports": N_("supervision.reports", "Reports"),
    "supervision.period_week": N_("supervision.period_week", "last week"),
    "supervision.period_month": N_("supervision.period_month", "last month"),
    "supervision.warnings": N_("supervision.warnings", "Cases with a warning now"),
    "supervision.level": N_("supervision.level", "Warning"),
    "supervision.no_warnings": N_("supervision.no_warnings", "No case has a yellow or red warning now."),
    "supervision.charts": N_("supervision.charts", "Charts"),
    "supervision.chart_volume": N_("supervision.chart_volume", "Cases opened per department"),
    "supervision.chart_on_time": N_("supervision.chart_on_time", "On-time rate per department (cases finished)"),
    "supervision.chart_warnings": N_("supervision.chart_warnings", "Yellow and red warnings per department"),
    "supervision.by_department": N_("supervision.by_department", "By department"),
    "supervision.by_item": N_("supervision.by_item", "By service item"),
    "supervision.volume": N_("supervision.volume", "Cases opened"),
    "supervision.on_time": N_("supervision.on_time", "On time (finished)"),
    "supervision.avg_days": N_("supervision.avg_days", "Average working days"),
    "supervision.pauses": N_("supervision.pauses", "Correction pauses"),
    "supervision.fetched": N_("supervision.fetched", "Materials fetched"),
    "supervision.reused": N_("supervision.reused", "Materials reused"),
    "supervision.avoided": N_("supervision.avoided", "Submissions avoided"),
    "supervision.answered": N_("supervision.answered", "Requests answered in time"),
    "supervision.escalations": N_("supervision.escalations", "Escalations"),
    "supervision.yellow_red": N_("supervision.yellow_red", "Yellow / red"),
    "supervision.none": N_("supervision.none", "Nothing in this period."),
    "supervision.escalated": N_("supervision.escalated", "Access requests escalated to the supervisors"),
    "supervision.request": N_("supervision.request", "Request"),
    "supervision.owner": N_("supervision.owner", "Owner (counted against)"),
    "supervision.consumer": N_("supervision.consumer", "Requested by"),
    "supervision.escalated_at": N_("supervision.escalated_at", "Escalated"),
    "supervision.no_escalations": N_("supervision.no_escalations", "No access request has been escalated."),
    "supervision.refusals": N_("supervision.refusals", "Refusals by reason"),
    "supervision.reason": N_("supervision.reason", "Reason"),
    "supervision.count": N_("supervision.count", "Count"),
    "supervision.no_refusals": N_("supervision.no_refusals", "No refusals in this period."),
    "warning.none": N_("warning.none", "—"),
    "warning.yellow": N_("warning.yellow", "yellow (nearly overdue)"),
    "warning.red": N_("warning.red", "red (overdue)"),
    # sign-in
    "signin.title": N_("signin.title", "Sign in"),
    "signin.username": N_("signin.username", "Username"),
    "signin.password": N_("signin.password", "Password"),
    "signin.submit": N_("signin.submit", "Sign in"),
    # Said by the accounts themselves (exchange.app.console_accounts), shown here too.
    "signin.failed": console_accounts.SIGN_IN_FAILED,
    "signin.rate_limited": console_accounts.SIGN_IN_RATE_LIMITED,
    "signin.done": console_accounts.SIGNED_IN,
    "signin.hint": N_("signin.hint", "Accounts are created by the hub operator with `exchange console add-user`."),
    # errors
    "error.title": N_("error.title", "This cannot be done"),
    "error.reason": N_("error.reason", "Reason code"),
    "error.home": N_("error.home", "Back to the start page"),
    "error.csrf": N_(
        "error.csrf", "The form expired or did not come from this console. Reload the page and submit it again."
    ),
    "error.signed_out": N_("error.signed_out", "You are signed out. Sign in again and repeat the action."),
    # home
    "home.title": N_("home.title", "Overview"),
    "home.datasets": N_("home.datasets", "datasets"),
    "home.departments": N_("home.departments", "departments"),
    "home.requests": N_("home.requests", "access requests waiting"),
    "home.cases": N_("home.cases", "cases"),
    "home.overdue": N_("home.overdue", "Overdue"),
    "home.overdue_cases": N_("home.overdue_cases", "cases past their deadline"),
    "home.overdue_requests": N_("home.overdue_requests", "access requests past their answer date"),
    "home.log": N_("home.log", "The access log holds {size} entries; current root hash"),
    "home.certificates_expiring": N_(
        "home.certificates_expiring",
        "Client certificates expiring within 30 days: renew them with 'exchange pki renew CODE'.",
    ),
    "home.certificate_days": N_("home.certificate_days", "{department}: {days} days left"),
    # catalog
    "catalog.title": N_("catalog.title", "Catalog"),
    "catalog.search": N_("catalog.search", "Search"),
    "catalog.owner": N_("catalog.owner", "Owner"),
    "catalog.code": N_("catalog.code", "Code"),
    "catalog.dataset_title": N_("catalog.dataset_title", "Title"),
    "catalog.description": N_("catalog.description", "Description"),
    "catalog.kind": N_("catalog.kind", "Kind"),
    "catalog.key": N_("catalog.key", "Key"),
    "catalog.key_field": N_("catalog.key_field", "Key field"),
    "catalog.key_format": N_("catalog.key_format", "Key format"),
    "catalog.sharing": N_("catalog.sharing", "Sharing"),
    "catalog.sharing_type": N_("catalog.sharing_type", "Sharing"),
    "catalog.update_frequency": N_("catalog.update_frequency", "Update frequency"),
    "catalog.frequency": N_("catalog.frequency", "Update frequency"),
    "catalog.resource_catalogue": N_("catalog.resource_catalogue", "Resource catalogue"),
    "catalog.resource_code": N_("catalog.resource_code", "Resource code"),
    "catalog.classification": N_("catalog.classification", "Classification"),
    "catalog.classification_hint": N_(
        "catalog.classification_hint", "class / item / sub-item / detail, separated by /"
    ),
    "catalog.provider_code": N_("catalog.provider_code", "Provider code"),
    "catalog.sharing_conditions": N_("catalog.sharing_conditions", "Sharing conditions"),
    "catalog.sharing_method": N_("catalog.sharing_method", "Sharing method"),
    "catalog.open_attribute": N_("catalog.open_attribute", "Open attribute"),
    "catalog.publication_date": N_("catalog.publication_date", "Publication date"),
    "catalog.not_catalogued": N_("catalog.not_catalogued", "not yet catalogued"),
    "sharing_method.interface": N_("sharing_method.interface", "interface"),
    "sharing_method.database": N_("sharing_method.database", "database tables"),
    "sharing_method.file": N_("sharing_method.file", "file"),
    "open_attribute.open": N_("open_attribute.open", "open to the public"),
    "open_attribute.conditional_open": N_("open_attribute.conditional_open", "open on conditions"),
    "open_attribute.not_open": N_("open_attribute.not_open", "not open"),
    "frequency.realtime": N_("frequency.realtime", "real time"),
    "frequency.daily": N_("frequency.daily", "daily"),
    "frequency.weekly": N_("frequency.weekly", "weekly"),
    "frequency.monthly": N_("frequency.monthly", "monthly"),
    "frequency.quarterly": N_("frequency.quarterly", "quarterly"),
    "frequency.half_yearly": N_("frequency.half_yearly", "half-yearly"),
    "frequency.yearly": N_("frequency.yearly", "yearly"),
    "catalog.legal_basis": N_("catalog.legal_basis", "Legal basis"),
    "catalog.version": N_("catalog.version", "Version"),
    "catalog.status": N_("catalog.status", "Status"),
    "catalog.subject_field": N_("catalog.subject_field", "Subject field"),
    "catalog.validity_field": N_("catalog.validity_field", "Validity field"),
    "catalog.status_field": N_("catalog.status_field", "Status field"),
    "catalog.theme": N_("catalog.theme", "Theme"),
    "catalog.keywords": N_("catalog.keywords", "Keywords (comma-separated)"),
    "catalog.register": N_("catalog.register", "Register a dataset"),
    "catalog.none": N_("catalog.none", "No datasets match."),
    "catalog.edit": N_("catalog.edit", "Edit or publish a new version"),
    "catalog.schema": N_("catalog.schema", "Schema"),
    "catalog.field": N_("catalog.field", "Field"),
    "catalog.type": N_("catalog.type", "Type"),
    "catalog.required": N_("catalog.required", "Required"),
    "catalog.sensitivity": N_("catalog.sensitivity", "Sensitivity"),
    "catalog.versions": N_("catalog.versions", "Version history"),
    "catalog.registered": N_("catalog.registered", "Registered"),
    "catalog.registered_by": N_("catalog.registered_by", "By"),
    "catalog.grants": N_("catalog.grants", "Who may use it"),
    "catalog.no_grants": N_("catalog.no_grants", "No department holds a grant on this dataset."),
    "catalog.form_title": N_("catalog.form_title", "Register a dataset"),
    "catalog.edit_title": N_("catalog.edit_title", "Edit dataset {code}"),
    "catalog.about": N_("catalog.about", "The dataset"),
    "catalog.upload": N_("catalog.upload", "Upload its YAML or JSON spec"),
    "catalog.upload_submit": N_("catalog.upload_submit", "Upload and register"),
    "catalog.upload_too_big": N_(
        "catalog.upload_too_big", "The file is larger than 1 MiB; a dataset spec is a few kilobytes."
    ),
    "catalog.upload_empty": N_("catalog.upload_empty", "Choose a .yaml, .yml or .json file first."),
    "catalog.or_form": N_("catalog.or_form", "… or fill in the form:"),
    "catalog.types_hint": (
        N_(
            "catalog.types_hint",
            "Types are Arrow types: string, int64, float64, bool, date32, timestamp[us, tz=Asia/Shanghai], "
            "decimal128(18, 2). Blank rows are ignored.",
        )
    ),
    "catalog.add_field": N_("catalog.add_field", "Add a field"),
    "catalog.save": N_("catalog.save", "Check and register"),
    "catalog.breaking_field": N_(
        "catalog.breaking_field", "{field}: this change breaks consumers of the current version"
    ),
    "catalog.breaking_version": N_(
        "catalog.breaking_version", "a breaking change needs a new major version: write {version}"
    ),
    "catalog.outcome.created": N_("catalog.outcome.created", "Registered: the dataset is in the catalog."),
    "catalog.outcome.unchanged": N_(
        "catalog.outcome.unchanged", "Nothing changed: the catalog already holds exactly this."
    ),
    "catalog.outcome.metadata_updated": N_(
        "catalog.outcome.metadata_updated", "Saved: the description changed, the schema did not (same version)."
    ),
    "catalog.outcome.minor_bump": N_(
        "catalog.outcome.minor_bump", "Saved as a new minor version (compatible schema change)."
    ),
    "catalog.outcome.major_bump": N_(
        "catalog.outcome.major_bump", "Saved as a new major version (breaking schema change)."
    ),
    "sharing.unconditional": N_("sharing.unconditional", "unconditional"),
    "sharing.conditional": N_("sharing.conditional", "conditional (on request)"),
    "sharing.not_shared": N_("sharing.not_shared", "not shared"),
    "sensitivity.public": N_("sensitivity.public", "public"),
    "sensitivity.internal": N_("sensitivity.internal", "internal"),
    "sensitivity.personal": N_("sensitivity.personal", "personal"),
    "sensitivity.sensitive": N_("sensitivity.sensitive", "sensitive"),
    "grant.consumer": N_("grant.consumer", "Department"),
    "grant.fields": N_("grant.fields", "Fields"),
    "grant.purposes": N_("grant.purposes", "Service items"),
    "grant.valid": N_("grant.valid", "Valid"),
    "grant.status": N_("grant.status", "Status"),
    "grant.by": N_("grant.by", "Granted by"),
    "grant.open_ended": N_("grant.open_ended", "open-ended"),
    # departments and keys
    "dept.title": N_("dept.title", "Departments"),
    "dept.code": N_("dept.code", "Code"),
    "dept.name": N_("dept.name", "Name"),
    "dept.name_en": N_("dept.name_en", "English name"),
    "dept.level": N_("dept.level", "Level"),
    "dept.region": N_("dept.region", "Region code"),
    "dept.status": N_("dept.status", "Status"),
    "dept.keys": N_("dept.keys", "Keys"),
    "dept.adapter": N_("dept.adapter", "Adapter endpoint"),
    "dept.register": N_("dept.register", "Register a department"),
    "dept.register_hint": N_("dept.register_hint", "Then add its token and signing keys on the department's page."),
    "dept.edit": N_("dept.edit", "Edit"),
    "dept.choose_level": N_("dept.choose_level", "Choose the department's administrative level."),
    "dept.choose_status": N_("dept.choose_status", "Choose the department's new status."),
    "dept.reason_required": N_("dept.reason_required", "Say why: the reason is written to the access log."),
    "dept.change_status": N_("dept.change_status", "Change status"),
    "dept.status_hint": N_(
        "dept.status_hint", "A suspended or revoked department's officers are refused from their next call."
    ),
    "dept.reason": N_("dept.reason", "Reason"),
    "key.retire_title": N_("key.retire_title", "Retire key {kid} of {department}?"),
    "key.retire_warning": (
        N_(
            "key.retire_warning",
            "Tokens or signatures made with this key are refused from now on. Make sure the department's systems "
            "already use their new key.",
        )
    ),
    "key.retire_confirm": N_("key.retire_confirm", "Retire the key"),
    "common.cancel": N_("common.cancel", "Cancel"),
    "dept.save": N_("dept.save", "Save"),
    "key.kid": N_("key.kid", "Key id"),
    "key.kid_hint": N_("key.kid_hint", "empty: the key's thumbprint"),
    "key.use": N_("key.use", "Use"),
    "key.algorithm": N_("key.algorithm", "Algorithm"),
    "key.status": N_("key.status", "Status"),
    "key.added": N_("key.added", "Added"),
    "key.retired": N_("key.retired", "Retired"),
    "key.retire": N_("key.retire", "Retire"),
    "key.add": N_("key.add", "Add a key"),
    "key.choose_use": N_("key.choose_use", "Choose what the key is for: signing tokens or signing documents."),
    "key.pem": N_("key.pem", "Public key (PEM)"),
    "key.rotate_hint": N_(
        "key.rotate_hint", "To rotate: add the new key, move the department's systems to it, then retire the old one."
    ),
    # service items
    "items.title": N_("items.title", "Service items"),
    "items.register": N_("items.register", "Register a service item"),
    "items.code": N_("items.code", "Code"),
    "items.basic_code": N_("items.basic_code", "Basic code"),
    "items.implementation_code": N_("items.implementation_code", "Implementation code"),
    "items.search_code": N_("items.search_code", "Basic or implementation code"),
    "items.name": N_("items.name", "Name"),
    "items.lead": N_("items.lead", "Lead department"),
    "items.co_reviewers": N_("items.co_reviewers", "Co-reviewers"),
    "items.materials": N_("items.materials", "Required materials"),
    "items.mandatory": N_("items.mandatory", "Mandatory"),
    "items.time_limit": N_("items.time_limit", "Time limit"),
    "items.days": N_("items.days", "{n} working days"),
    "items.none": N_("items.none", "No service items are registered."),
    "items.edit": N_("items.edit", "Edit the spec"),
    "items.spec": N_("items.spec", "Spec (YAML, as `exchange items register` reads it)"),
    "items.save": N_("items.save", "Check and save"),
    # access requests
    "requests.title": N_("requests.title", "Access requests"),
    "requests.intro_dept": N_(
        "requests.intro_dept", "Requests from other departments for the datasets of {department}."
    ),
    "requests.intro_all": N_("requests.intro_all", "Requests for every dataset."),
    "requests.status.pending": N_("requests.status.pending", "Waiting"),
    "requests.status.approved": N_("requests.status.approved", "Approved"),
    "requests.status.denied": N_("requests.status.denied", "Denied"),
    "requests.status.withdrawn": N_("requests.status.withdrawn", "Withdrawn"),
    "requests.status.overdue": N_("requests.status.overdue", "Overdue"),
    "requests.status.all": N_("requests.status.all", "All"),
    "requests.overdue": N_("requests.overdue", "overdue"),
    "requests.justification": N_("requests.justification", "Why"),
    "requests.requested": N_("requests.requested", "Requested"),
    "requests.due": N_("requests.due", "Answer due"),
    "requests.decided": N_("requests.decided", "Decided"),
    "requests.grant": N_("requests.grant", "grant"),
    "requests.reason": N_("requests.reason", "Reason (required to deny)"),
    "requests.approve": N_("requests.approve", "Approve"),
    "requests.deny": N_("requests.deny", "Deny"),
    "requests.none": N_("requests.none", "No requests here."),
    # cases
    "cases.title": N_("cases.title", "Cases"),
    "cases.case": N_("cases.case", "Case"),
    "cases.id": N_("cases.id", "Case"),
    "cases.item": N_("cases.item", "Service item"),
    "cases.applicant": N_("cases.applicant", "Applicant"),
    "cases.lead": N_("cases.lead", "Lead"),
    "cases.reviewers": N_("cases.reviewers", "Co-reviewers"),
    "cases.state": N_("cases.state", "State"),
    "cases.department": N_("cases.department", "Department"),
    "cases.overdue_only": N_("cases.overdue_only", "overdue only"),
    "cases.submitted": N_("cases.submitted", "Submitted"),
    "cases.deadline": N_("cases.deadline", "Deadline"),
    "cases.none": N_("cases.none", "No cases match."),
    "cases.savings": N_("cases.savings", "What this case saved"),
    "cases.fetched": N_("cases.fetched", "materials fetched once from their issuer"),
    "cases.reads": N_("cases.reads", "reads served from the case"),
    "cases.avoided": N_("cases.avoided", "submissions the applicant did not make"),
    "cases.materials": N_("cases.materials", "Materials"),
    "cases.materials_hint": N_(
        "cases.materials_hint", "Metadata and provenance only; document contents are never shown in the console."
    ),
    "cases.dataset": N_("cases.dataset", "Dataset"),
    "cases.key": N_("cases.key", "Key"),
    "cases.version": N_("cases.version", "Version"),
    "cases.issuer": N_("cases.issuer", "Issuer"),
    "cases.fetched_at": N_("cases.fetched_at", "Fetched"),
    "cases.licence_status": N_("cases.licence_status", "Status code"),
    "cases.valid_until": N_("cases.valid_until", "Valid until"),
    "cases.digest": N_("cases.digest", "Digest"),
    "cases.receipt": N_("cases.receipt", "Log entry"),
    "cases.annotated_copy": N_("cases.annotated_copy", "Annotated copy"),
    "cases.annotated_copy_download": N_("cases.annotated_copy_download", "Download signed PDF (logged)"),
    "cases.no_materials": N_("cases.no_materials", "No materials yet."),
    "cases.flags": N_("cases.flags", "Licence status changes"),
    "cases.flags_hint": N_(
        "cases.flags_hint",
        "Licences this case holds whose status changed at the issuer after they were fetched; refresh the material.",
    ),
    "cases.flag_status": N_("cases.flag_status", "Status (before → now)"),
    "cases.flag_source": N_("cases.flag_source", "Reported by"),
    "cases.flag_source_push": N_("cases.flag_source_push", "the issuer's adapter, as it happened"),
    "cases.flag_source_poll": N_("cases.flag_source_poll", "the hub's status check"),
    "cases.flag_source_ticket": N_("cases.flag_source_ticket", "the issuer, answering a correction ticket"),
    # correction tickets (校核纠错)
    "nav.tickets": N_("nav.tickets", "Correction tickets"),
    "tickets.title": N_("tickets.title", "Correction tickets"),
    "tickets.intro": N_(
        "tickets.intro",
        "Fields of received documents flagged as wrong or out of date, and the issuing department's answers.",
    ),
    "tickets.state.open": N_("tickets.state.open", "Waiting for an answer"),
    "tickets.state.answered": N_("tickets.state.answered", "Answered"),
    "tickets.state.all": N_("tickets.state.all", "All"),
    "tickets.id": N_("tickets.id", "Ticket"),
    "tickets.case": N_("tickets.case", "case"),
    "tickets.key": N_("tickets.key", "Document"),
    "tickets.fields": N_("tickets.fields", "Fields believed wrong (comma-separated)"),
    "tickets.reason": N_("tickets.reason", "What is wrong"),
    "tickets.evidence": N_("tickets.evidence", "Evidence"),
    "tickets.evidence_digest": N_("tickets.evidence_digest", "Attachment digest (sha256:…)"),
    "tickets.opened": N_("tickets.opened", "Opened"),
    "tickets.due": N_("tickets.due", "Answer due"),
    "tickets.answered": N_("tickets.answered", "Answer"),
    "tickets.late": N_("tickets.late", "answered late"),
    "tickets.notified": N_("tickets.notified", "open cases told: {count}"),
    "tickets.answer.corrected": N_("tickets.answer.corrected", "Corrected"),
    "tickets.answer.no_error": N_("tickets.answer.no_error", "No error"),
    "tickets.answer.cannot_correct": N_("tickets.answer.cannot_correct", "Cannot correct"),
    "tickets.answer_label": N_("tickets.answer_label", "Answer"),
    "tickets.answer_reason": N_("tickets.answer_reason", "Reason (required)"),
    "tickets.answer_submit": N_("tickets.answer_submit", "Send the answer"),
    "tickets.none": N_("tickets.none", "No tickets here."),
    "tickets.open_title": N_("tickets.open_title", "Report an error in {dataset}"),
    "tickets.open_submit": N_("tickets.open_submit", "Open a correction ticket"),
    "cases.flag_time": N_("cases.flag_time", "Flagged at"),
    "cases.opinions": N_("cases.opinions", "Review opinions"),
    "cases.no_opinions": N_("cases.no_opinions", "No opinions yet."),
    "cases.timeline": N_("cases.timeline", "Timeline"),
    # The case states' names are the timeline's (its details name states too).
    **{f"case_state.{state}": name for state, name in STATE_NAMES.items()},
    "deadline.on_time": N_("deadline.on_time", "{days} working days left"),
    "deadline.nearly_overdue": N_("deadline.nearly_overdue", "due within a working day"),
    "deadline.overdue": N_("deadline.overdue", "OVERDUE"),
    "deadline.paused": N_("deadline.paused", "clock paused ({days} days left)"),
    "deadline.not_started": N_("deadline.not_started", "not started"),
    "deadline.finished": N_("deadline.finished", "finished"),
    # access log
    "log.title": N_("log.title", "Access log"),
    "log.integrity": N_("log.integrity", "Integrity"),
    "log.checkpoint": N_("log.checkpoint", "Latest signed checkpoint covers {size} of {head} entries."),
    "log.signed_note": N_("log.signed_note", "Signed note"),
    "log.no_checkpoint": N_("log.no_checkpoint", "No checkpoint has been signed yet."),
    "log.verify_now": N_("log.verify_now", "Verify now"),
    "log.verified": (
        N_(
            "log.verified",
            "Verified: all {size} stored entries were read and the tree they form matches the signed checkpoint "
            "({checkpoints} checked).",
        )
    ),
    "log.verify_failed": N_("log.verify_failed", "Verification FAILED:"),
    "log.from": N_("log.from", "From ({zone})"),
    "log.to": N_("log.to", "To ({zone})"),
    "log.department": N_("log.department", "Department"),
    "log.dataset": N_("log.dataset", "Dataset"),
    "log.subject": N_("log.subject", "Subject"),
    "log.case": N_("log.case", "Case"),
    "log.decision": N_("log.decision", "Decision"),
    "log.time": N_("log.time", "Time"),
    "log.action": N_("log.action", "Action"),
    "log.officer": N_("log.officer", "Officer"),
    "log.proof": N_("log.proof", "Proof"),
    "log.none": N_("log.none", "No entries match."),
    "log.newest": N_("log.newest", "Newest"),
    "log.older": N_("log.older", "Older entries"),
    "log.export_csv": N_("log.export_csv", "Export CSV"),
    "log.export_parquet": N_("log.export_parquet", "Export Parquet"),
    "log.export_hint": N_(
        "log.export_hint",
        "Exports hold the filtered entries, each with its inclusion proof. The Parquet file is a proof bundle "
        "(the signed checkpoint and the hub's key in its footer): check it offline with "
        "exchange audit verify-export FILE.",
    ),
    "log.chart_accesses": N_("log.chart_accesses", "Entries per hour by department"),
    "log.chart_denials": N_("log.chart_denials", "Share of denials per hour"),
    "log.bad_time": N_("log.bad_time", "A time in the filter could not be read."),
    "log.time_format": N_("log.time_format", "write it as 2026-11-25T14:30 ({zone}, or with an offset like +08:00)"),
    "decision.allow": N_("decision.allow", "allowed"),
    "decision.deny": N_("decision.deny", "denied"),
    "proof.verified": N_("proof.verified", "✓ in checkpoint {size}"),
    "proof.pending": N_("proof.pending", "awaiting next checkpoint"),
    "proof.failed": N_("proof.failed", "✗ proof failed"),
    # one access-log entry
    "entry.title": N_("entry.title", "Access log entry #{index}"),
    "entry.not_found": N_("entry.not_found", "The access log holds no entry #{index} (or it was archived and pruned)."),
    "entry.open": N_("entry.open", "open entry #{index}"),
    "entry.outcome": N_("entry.outcome", "Outcome"),
    "entry.message": N_("entry.message", "Message"),
    "entry.fields": N_("entry.fields", "Fields"),
    "entry.service_item": N_("entry.service_item", "Service item"),
    "entry.request_id": N_("entry.request_id", "Request id"),
    "entry.latency": N_("entry.latency", "Time taken"),
    "entry.request_digest": N_("entry.request_digest", "Request digest"),
    "entry.response_digest": N_("entry.response_digest", "Response digest"),
    "entry.hidden": N_("entry.hidden", "Hidden from the data subject"),
    "entry.leaf_hash": N_("entry.leaf_hash", "Leaf hash"),
    "entry.proof_intro": N_(
        "entry.proof_intro",
        "Inclusion proof in the latest signed checkpoint ({size} entries): hashing the leaf with this path, "
        "from the bottom up, gives the signed root hash.",
    ),
    "entry.root_hash": N_("entry.root_hash", "Signed root hash"),
    "entry.signed_at": N_("entry.signed_at", "Checkpoint signed"),
    "entry.no_path": N_("entry.no_path", "none: the tree holds this entry alone"),
    "entry.verify_title": N_("entry.verify_title", "Check it yourself"),
    "entry.verify_hint": N_(
        "entry.verify_hint",
        "Anyone can check this entry without trusting the console: fetch its evidence bundle and verify it "
        "offline with the hub's public key.",
    ),
    # citizen report
    "report.title": N_("report.title", "Citizen access report"),
    "report.subject": N_("report.subject", "Person or company id"),
    "report.show": N_("report.show", "Show report"),
    "report.intro": N_("report.intro", "Accesses to the data of {subject} recorded in the hub's access log: {count}."),
    "report.generated": N_("report.generated", "Generated {when}."),
    "report.who": N_("report.who", "Department"),
    "report.fields": N_("report.fields", "Fields"),
    "report.purpose": N_("report.purpose", "Purpose"),
    "report.case": N_("report.case", "case"),
    "report.ref": N_("report.ref", "Log entry"),
    "report.action": N_("report.action", "What was done"),
    "report.action.fetched": N_("report.action.fetched", "fetched from the issuing department"),
    "report.action.scanned": N_("report.action.scanned", "matched in a bulk check"),
    "report.action.read": N_("report.action.read", "read in a case"),
    "report.action.case_opened": N_("report.action.case_opened", "case opened"),
    "report.action.case_party": N_("report.action.case_party", "added to a case"),
    "report.action.attached": N_("report.action.attached", "attached to a case as material"),
    "report.action.case_handled": N_("report.action.case_handled", "case handled"),
    "report.action.annotated_copy": N_("report.action.annotated_copy", "annotated copy issued"),
    "report.action.other": N_("report.action.other", "other use"),
    "report.action.refused": N_("report.action.refused", "refused ({action})"),
    "report.agency": N_("report.agency", "Issued by"),
    "report.none": N_("report.none", "No recorded accesses."),
    "report.footer": (
        N_(
            "report.footer",
            "Each entry is part of a tamper-evident log signed by the hub; the entry number lets anyone obtain a "
            "proof that it was recorded. Accesses a law keeps from the data subject are not listed.",
        )
    ),
}

LANGUAGES = tuple(i18n.SUPPORTED)


def text(key: str, **values: Any) -> str:
    """The string for `key` in the current language, with {placeholders} filled."""
    if key == "lang":
        return i18n.current()
    source = EN.get(key)
    template = key if source is None else i18n.translate(key, source)
    if "{zone}" in template and "zone" not in values:
        values["zone"] = localtime.offset_label()
    shown = {k: ", ".join(v) if isinstance(v, tuple | list) else v for k, v in values.items()}
    return template.format(**shown) if values else template
