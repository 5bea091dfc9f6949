"""Examples shown at the end of each command's `--help`, for the commands whose docstring has none.

Kept in one table so they are easy to review, translate and keep true (the docs test runs the same
commands in docs/operations.md; `tests/integration/docs/test_cli_help.py` checks every command has some).
"""

from __future__ import annotations

EXAMPLES: dict[str, list[str]] = {
    "tickets": ["exchange tickets list --role to_answer", "exchange tickets show tk-0123456789abcdef"],
    "tickets open": [
        "exchange tickets open c-0123456789abcdef business_licence --field name --reason 'the company was renamed'"
    ],
    "tickets list": ["exchange tickets list --state open --role to_answer --output json"],
    "tickets show": ["exchange tickets show tk-0123456789abcdef"],
    "tickets answer": ["exchange tickets answer tk-0123456789abcdef corrected --reason 'register updated'"],
    "notify": ["exchange notify webhook set https://svc.example.gov.cn/hooks/exchange", "exchange notify subscribe"],
    "notify webhook": ["exchange notify webhook set https://svc.example.gov.cn/hooks/exchange --kind warning"],
    "notify webhook set": [
        "exchange notify webhook set https://svc.example.gov.cn/hooks/exchange   # the hub makes the HMAC secret",
        "exchange notify webhook set https://svc.example.gov.cn/hooks/exchange --scheme ed25519 --kind licence_status",
    ],
    "notify webhook show": ["exchange notify webhook show", "exchange notify webhook show --of SVC"],
    "notify webhook delete": ["exchange notify webhook delete"],
    "notify dead-letters": ["exchange notify dead-letters list", "exchange notify dead-letters redrive"],
    "notify dead-letters list": ["exchange notify dead-letters list --output json"],
    "notify dead-letters redrive": [
        "exchange notify dead-letters redrive            # all of them",
        "exchange notify dead-letters redrive 41 42",
    ],
    "notify subscribe": [
        "exchange notify subscribe --kind warning --kind escalation",
        "exchange notify subscribe --after 1200",
    ],
    "notify flags": ["exchange notify flags", "exchange notify flags --case c-1a2b3c"],
    "verify": ["exchange verify document licence.json --key samr-signing.pub"],
    "verify document": [
        "exchange fetch business_licence 91110105MA01XXXXXX --case c-1a2b3c --save licence.json",
        "exchange verify document licence.json --key samr-signing.pub",
        "exchange verify document licence.json --key samr.pub --bundle entry.proof --log-key 'exchange-hub+...'",
    ],
    "migrate": [
        "exchange migrate --config /etc/exchange/hub.yaml   # before starting upgraded replicas",
        "exchange migrate --data-dir data",
    ],
    "grants": [
        "exchange grants create --consumer SVC --dataset fire_safety_certificate --field '*'",
        "exchange grants list --consumer SVC",
    ],
    "grants create": [
        "exchange grants create --consumer SVC --dataset fire_safety_certificate --field '*'",
        "exchange grants create --consumer FIRE --dataset business_licence --field name,status \\",
        "    --item restaurant_permit --valid-until 2027-12-31 --rate 60",
    ],
    "grants list": ["exchange grants list", "exchange grants list --dataset business_licence --all -o json"],
    "grants revoke": ['exchange grants revoke g-1a2b3c --reason "case work finished"'],
    "access-requests": ["exchange access-requests list --overdue", "exchange access-requests approve ar-1a2b3c"],
    "access-requests create": [
        "exchange access-requests create --dataset identity_record --field resident_id --field name \\",
        '    --item restaurant_permit --legal-basis "Food Safety Law art. 35" --justification "identify the applicant"',
    ],
    "access-requests list": [
        "exchange access-requests list --status pending",
        "exchange access-requests list --overdue -o json",
    ],
    "access-requests approve": ['exchange access-requests approve ar-1a2b3c --reason "legal basis checked"'],
    "access-requests deny": ['exchange access-requests deny ar-1a2b3c --reason "no legal basis for the sex field"'],
    "authz": ["exchange authz explain --dataset business_licence --case c-1a2b3c", "exchange authz roles"],
    "authz explain": [
        "exchange authz explain --dataset business_licence --case c-1a2b3c",
        "exchange authz explain --dataset identity_record --case c-1a2b3c --about 110105198506010011 --field name",
    ],
    "authz roles": ["exchange authz roles > docs/roles.md"],
    "pki": [
        "exchange pki issue SVC --dir data/pki --out svc",
        "exchange pki revoke svc/SVC.crt --reason key_compromise --dir data/pki",
    ],
    "pki init": ["exchange pki init --dir data/pki --host hub.example.gov --host 10.0.0.5"],
    "pki issue": ["exchange pki issue SVC --dir data/pki --out svc"],
    "pki issue-server": ["exchange pki issue-server grpc-proxy --host proxy.example.gov --dir data/pki"],
    "pki issue-adapter": ["exchange pki issue-adapter FIRE --host fire-adapter.internal --dir data/pki --out fire"],
    "pki issue-hub-client": ["exchange pki issue-hub-client --hub-name exchange-hub --dir data/pki"],
    "pki revoke": [
        "exchange pki revoke svc/SVC.crt --reason key_compromise --dir data/pki",
        "exchange pki revoke --serial 5f0c2e... --dir data/pki",
    ],
    "pki issue-document-signing": ["exchange pki issue-document-signing --hub-name exchange-hub --dir data/pki"],
    "pki crl": [
        "exchange pki crl --dir data/pki          # re-sign crl.pem before it is 30 days old",
        "exchange pki crl --dir data/pki --root-crl /media/carry/root-crl.pem   # bring the root's CRL",
    ],
    "pki renew": ["exchange pki renew SAMR --dir data/pki --out samr"],
    "pki expiring": ["exchange pki expiring --days 30 --dir data/pki", "exchange pki expiring --days 60 -o json"],
    "pki root": ["exchange pki root init --out /media/root-ca"],
    "pki root init": ['exchange pki root init --out /media/root-ca --name "Example Province exchange root CA"'],
    "pki root revoke": ["exchange pki root revoke old-intermediate.crt --root /media/root-ca --reason key_compromise"],
    "pki root crl": ["exchange pki root crl --root /media/root-ca   # re-sign root-crl.pem within the year"],
    "pki intermediate": ["exchange pki intermediate request --dir data/pki"],
    "pki intermediate request": ["exchange pki intermediate request --dir data/pki --hub-name exchange-hub"],
    "pki intermediate sign": [
        "exchange pki intermediate sign intermediate.csr --root /media/root-ca --out intermediate.crt"
    ],
    "pki intermediate install": [
        "exchange pki intermediate install intermediate.crt --dir data/pki --root-crl root-crl.pem "
        "--host hub.example.gov",
        "exchange pki intermediate install intermediate.crt --dir data/pki --keep-previous-ca   # from a single CA",
    ],
    "calendar": ["exchange calendar show --year 2026", "exchange calendar check cn-2027.yaml"],
    "calendar show": ["exchange calendar show --year 2026", "exchange calendar show --file calendars/"],
    "calendar check": ["exchange calendar check cn-2027.yaml    # next year's notice, before calendar_file"],
    "cases": ["exchange cases list --state in_review", "exchange cases show c-1a2b3c"],
    "cases annotated-copy": ["exchange cases annotated-copy c-1a2b3c business_licence -o 加注件.pdf"],
    "cases add-party": ["exchange cases add-party c-1a2b3c premises_owner:110105198506010011:王伟"],
    "supervision": ["exchange supervision warnings", "exchange supervision report --period week --out reports"],
    "supervision report": [
        "exchange supervision report --period week --out reports",
        "exchange supervision report --period month --out reports",
    ],
    "supervision figures": [
        "exchange supervision figures --since 2026-11-01 --until 2026-12-01",
        "exchange supervision figures --since 2026-11-01 -o json",
    ],
    "supervision warnings": ["exchange supervision warnings", "exchange supervision warnings --of SAMR -o json"],
    "supervision escalations": ["exchange supervision escalations", "exchange supervision escalations --of PSB"],
    "cases overdue": ["exchange cases overdue", "exchange cases overdue --of FIRE --past-only"],
    "cases list": ["exchange cases list", "exchange cases list --state in_review --item restaurant_permit -o json"],
    "cases show": ["exchange cases show c-1a2b3c", "exchange cases show c-1a2b3c -o json"],
    "cases savings": ["exchange cases savings", "exchange cases savings --item restaurant_permit"],
    "audit": [
        "exchange audit query --dataset business_licence --decision deny",
        "exchange audit subject 110105198506010011",
    ],
    "audit query": [
        "exchange audit query --dataset business_licence --decision deny --newest-first --limit 20",
        "exchange audit query --case c-1a2b3c --json",
    ],
    "audit subject": ["exchange audit subject 110105198506010011 --from 2026-01-01"],
    "audit checkpoint": ["exchange audit checkpoint -o cp.txt", "exchange audit checkpoint --sign"],
    "audit consistency": ["exchange audit consistency --old cp-old.txt --vkey 'exchange-hub+1a2b3c4d+AT...'"],
    "audit proof": ["exchange audit proof 4711 -o entry-4711.proof"],
    "audit hide": ['exchange audit hide PSB --legal-basis "Criminal Procedure Law art. 152"'],
    "audit unhide": ["exchange audit unhide PSB"],
    "audit check-proof": ["exchange audit check-proof entry-4711.proof --key 'exchange-hub+1a2b3c4d+AT...'"],
    "audit vkey": ["exchange audit vkey --data-dir /var/lib/exchange"],
    "audit rotate-key": ["exchange audit rotate-key --data-dir /var/lib/exchange   # with every replica stopped"],
    "audit export": ["exchange audit export -o log.parquet --data-dir /var/lib/exchange"],
    "audit verify": [
        "exchange audit verify --data-dir /var/lib/exchange --checkpoint cp.txt --key 'exchange-hub+...'",
        "exchange audit verify --export log.parquet --key 'exchange-hub+...'",
    ],
    "audit archive": ["exchange audit archive --before 1000000 -o archive-000.parquet --data-dir /var/lib/exchange"],
    "adapter": ["exchange adapter check --config fire.yaml", "exchange adapter serve --config fire.yaml"],
    "adapter serve": [
        "exchange adapter serve --config examples/adapters/fire-csv.yaml",
        "exchange adapter serve --config fire.yaml --listen 0.0.0.0:7443",
    ],
    "adapter check": ["exchange adapter check --config examples/adapters/psb-sql.yaml --key 110101199003070019"],
    "adapter keygen": [
        "exchange adapter keygen --out keys/fire-signing.pem",
        "exchange departments add-key FIRE keys/fire-signing.pem.pub --use signing",
    ],
    "console": [
        "exchange console add-user li.na --role auditor --data-dir data",
        "exchange console users --data-dir data",
    ],
    "console add-user": [
        'exchange console add-user li.na --role auditor --name "Li Na" --data-dir data',
        "exchange console add-user fire.admin --role dept_admin --department FIRE --data-dir data",
    ],
}


def with_examples(help_text: str, lines: list[str]) -> str:
    """A help text with an Examples block (click keeps `\\b` paragraphs as written)."""
    block = "\n".join(["\b", "Examples:", *(f"  {line}" for line in lines)])
    return f"{help_text.rstrip()}\n\n{block}"
