"""Under LANG=zh_CN.UTF-8 the CLI says everything in Chinese: pki, adapter, cases, fetch and verify, notify, audit.

Each command runs against real files or a real hub; its output must hold Chinese and none of the English
sentences of the CLI's catalogue (the fixed words of every `cli.*` and `document.*` message that its
Chinese translation does not keep, such as a command it quotes). Times shown are Beijing time, zone named.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po
from click.testing import CliRunner, Result

from catalog.identifiers import generate_resident_id
from exchange import i18n
from exchange.cli import cli
from exchange.demo.data import PSB_COLUMNS, generate, write_psb_database
from exchange.testing import HubFixture
from tests.integration.adapters.hubsetup import spec_path
from tests.integration.audit.logsetup import CITIZEN, fill
from tests.integration.hub import test_served_document
from tests.integration.hub.test_served_document import fetched

# SAMR serves a licence through its adapter, a restaurant permit case is open (the served-document tests' world).
world = test_served_document.world

CHINESE = {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "EXCHANGE_LANG": "", "EXCHANGE_TIME_ZONE": None}
CJK = re.compile(r"[\u4e00-\u9fff]")
# A run of at least two English words, punctuation between them allowed.
PHRASE = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,;:()/.-]+[A-Za-z][A-Za-z'-]*)+")


@functools.cache
def english_sentences() -> tuple[str, ...]:
    """The fixed English phrases of every CLI message that its Chinese text does not keep."""
    with (i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "exchange.po").open("rb") as f:
        catalogue = read_po(f)
    phrases: set[str] = set()
    for message in catalogue:
        context = message.context or ""
        if not isinstance(message.id, str) or not message.id:
            continue
        if not context.startswith(("cli.", "document.")) or context.startswith("cli.help"):
            continue
        chinese = i18n.translate(context, message.id, "zh-CN")
        for part in re.split(r"\{[^}]*\}|\n", message.id):
            phrases.update(p for p in PHRASE.findall(part) if " " in p and p not in chinese)
    return tuple(sorted(phrases))


def assert_chinese(result: Result, *, exit_code: int = 0) -> str:
    """The command's output (stdout and stderr): it ended as expected, in Chinese, with no English sentence."""
    out = result.output
    assert result.exit_code == exit_code, out
    assert CJK.search(out), out
    english = [phrase for phrase in english_sentences() if phrase in out]
    assert english == [], out
    return out


def invoke(*args: str) -> Result:
    return CliRunner(env=CHINESE).invoke(cli, list(args), catch_exceptions=False)


async def invoke_async(*args: str) -> Result:
    return await asyncio.to_thread(invoke, *args)


def test_the_english_sentences_looked_for_are_the_catalogues() -> None:
    sentences = english_sentences()
    assert "exists; refusing to overwrite a signing key" in sentences and "no webhook is set" in sentences
    assert "exchange verify document" not in sentences  # a command the Chinese text quotes as it is


def test_pki_commands_speak_chinese_and_show_beijing_time(tmp_path: Path) -> None:
    pki = str(tmp_path / "pki")
    assert_chinese(invoke("pki", "init", "--dir", pki))
    server = assert_chinese(invoke("pki", "issue-server", "proxy", "--host", "proxy.example.gov", "--dir", pki))
    assert "证书：" in server and "适用于 proxy.example.gov" in server
    adapter = assert_chinese(invoke("pki", "issue-adapter", "FIRE", "--host", "fire.internal", "--dir", pki))
    assert "只用于 FIRE 的适配器" in adapter and "指纹：" in adapter
    hub_client = assert_chinese(invoke("pki", "issue-hub-client", "--dir", pki))
    assert "tls_client_cert / tls_client_key" in hub_client
    signing = assert_chinese(invoke("pki", "issue-document-signing", "--dir", pki))
    assert "document_signing_cert / document_signing_key" in signing
    revoked = assert_chinese(invoke("pki", "revoke", str(tmp_path / "pki" / "proxy.crt"), "--dir", pki))
    assert "已吊销序列号" in revoked
    assert "证书吊销列表：" in assert_chinese(invoke("pki", "crl", "--dir", pki))
    expiring = assert_chinese(invoke("pki", "expiring", "--days", "400", "--dir", pki))
    assert "(UTC+8)" in expiring and "有效期至" in expiring
    assert_chinese(invoke("pki", "revoke", "--serial", "xyz", "--dir", pki), exit_code=1)


def test_adapter_keygen_and_check_speak_chinese(tmp_path: Path) -> None:
    made = assert_chinese(invoke("adapter", "keygen", "--out", str(tmp_path / "psb.pem")))
    kid = made.split("密钥标识（kid）：")[1].split()[0]
    assert "注册公钥：exchange departments add-key DEPT" in made
    refused = assert_chinese(invoke("adapter", "keygen", "--out", str(tmp_path / "psb.pem")), exit_code=2)
    assert "不会覆盖签名密钥" in refused

    data = generate(3, companies=4)
    write_psb_database(data, tmp_path / "population.db")
    source = {"type": "sql", "url": "sqlite+aiosqlite:///population.db", "table": "residents",
              "key_column": "sfzh", "column_map": PSB_COLUMNS}  # fmt: skip
    config = {
        "department": "PSB",
        "insecure_dev": True,
        "signing": {"key_file": "psb.pem", "kid": kid},
        "datasets": [
            {"dataset": "identity_record", "version": "1.0", "spec": spec_path("identity_record"), "source": source}
        ],
    }
    (tmp_path / "psb.yaml").write_text(yaml.safe_dump(config))
    nobody = generate_resident_id(random.Random(7), region="650101")  # a region the demo data never uses
    checked = invoke("adapter", "check", "--config", str(tmp_path / "psb.yaml"), "--key", data.people[0].resident_id,
                     "--key", nobody)  # fmt: skip
    out = assert_chinese(checked)
    assert "已找到" in out and "未找到" in out and "配置" in out and "有效，适用于部门 PSB" in out


async def test_cases_fetch_verify_and_notify_speak_chinese(world: Any, tmp_path: Path) -> None:
    hub: HubFixture = world["hub"]
    samr = ["--profile", str(hub.write_profile("SAMR", tmp_path / "samr"))]
    applicant = world["doc"]["unified_social_credit_code"]
    created = await invoke_async(
        "cases", "create", "--item", "restaurant_permit", "--applicant", applicant, *samr,
        "--party", "legal_representative:110105198506010011:王伟",
    )  # fmt: skip
    out = assert_chinese(created)
    case_id = out.split()[0]
    assert "关系" in out and "legal_representative" in out  # the table's headings, the relation's code
    owner = "premises_owner:110105198506010011"
    added = assert_chinese(await invoke_async("cases", "add-party", case_id, owner, *samr))
    assert f"{case_id}：关系人 applicant, legal_representative, premises_owner" in added
    malformed = await invoke_async("cases", "add-party", case_id, "nobody", *samr)
    assert "应为 RELATION:ID[:NAME]" in malformed.output and malformed.exit_code == 1
    overdue = assert_chinese(await invoke_async("cases", "overdue", *samr))
    assert "SAMR 没有已超期或即将超期的办件" in overdue

    saved = tmp_path / "licence.json"
    fetched_now = await invoke_async(
        "fetch", "business_licence", applicant, "--case", world["case"], "--save", str(saved), *samr
    )
    assert "已保存到" in assert_chinese(fetched_now)
    checked = assert_chinese(await invoke_async("verify", "document", str(saved), "--key", str(world["key"])))
    assert "核验通过：" in checked and "成立：数据封装由 SAMR 以密钥" in checked and "未核验：访问日志回执" in checked
    path = await fetched(world, tmp_path)
    document = json.loads(path.read_text())
    document["document_json"] = document["document_json"].replace("a", "b", 1)
    path.write_text(json.dumps(document))
    failed = await invoke_async("verify", "document", str(path), "--key", str(world["key"]))
    assert "核验失败" in assert_chinese(failed, exit_code=1)

    admin = ["--profile", str(hub.write_profile("SAMR", tmp_path / "admin", roles=["dept_admin"]))]
    assert "未设置 Webhook" in assert_chinese(await invoke_async("notify", "webhook", "show", *admin))
    assert "未设置 Webhook" in assert_chinese(await invoke_async("notify", "webhook", "delete", *admin))


async def test_audit_commands_speak_chinese(hub: HubFixture, tmp_path: Path) -> None:
    await hub.add_department("SAMR")
    await fill(hub, 40)
    await hub.hub.access_log.sign_checkpoint(wait=True)
    data_dir = str(hub.settings.data_dir)
    vkey = hub.hub.signer.verifier().verifier_key()
    auditor = ["--profile", str(hub.write_profile("HUB", tmp_path / "auditor", roles=["auditor"]))]
    admin = ["--profile", str(hub.write_profile("HUB", tmp_path / "admin", roles=["hub_admin"]))]

    bundle = str(tmp_path / "e7.proof")
    assert "已写入" in assert_chinese(await invoke_async("audit", "proof", "7", "-o", bundle, *auditor))
    assert "核验通过：第 7 条记录" in assert_chinese(await invoke_async("audit", "check-proof", bundle, "--key", vkey))
    subject = assert_chinese(await invoke_async("audit", "subject", CITIZEN, "--page-size", "3", *auditor))
    assert "还有更多：--page-token" in subject and "政务服务事项" in subject and "(UTC+8)" in subject
    kept = tmp_path / "kept.txt"
    shown = await invoke_async("audit", "checkpoint", "-o", str(kept), *auditor)
    assert f"核验公钥：{vkey}" in shown.output
    await fill(hub, 3, start=100)
    await hub.hub.access_log.sign_checkpoint(wait=True)
    extended = assert_chinese(await invoke_async("audit", "consistency", "--old", str(kept), "--vkey", vkey, *auditor))
    assert "延续了您保存的检查点" in extended
    hidden = await invoke_async("audit", "hide", "SAMR", "--legal-basis", "《刑事诉讼法》第一百五十二条", *admin)
    assert "依法不予告知" in assert_chinese(hidden)
    assert "个人数据使用记录中显示" in assert_chinese(await invoke_async("audit", "unhide", "SAMR", *admin))

    export = str(tmp_path / "log.parquet")
    assert_chinese(await invoke_async("audit", "export", "--data-dir", data_dir, "-o", export))
    verified = assert_chinese(await invoke_async("audit", "verify", "--export", export, "--key", vkey))
    assert "核验通过：" in verified
    archive = str(tmp_path / "archive.parquet")
    archived = await invoke_async("audit", "archive", "--before", "25", "-o", archive, "--data-dir", data_dir,
                                  "--key", vkey)  # fmt: skip
    assert "已将第 [0, 25) 条记录归档" in assert_chinese(archived)
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text((tmp_path / "log.parquet.checkpoint").read_text())
    database = await invoke_async(
        "audit", "verify", "--data-dir", data_dir, "--checkpoint", str(checkpoint), "--key", vkey
    )
    assert "其中 25 条已归档并清理" in assert_chinese(database)
