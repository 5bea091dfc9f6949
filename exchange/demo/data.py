"""Synthetic, consistent department data for the demo, made from a seed.

Every identifier is valid to the last check character (catalog.identifiers). Each company's
legal representative has an identity record; some companies hold property and fire-safety
certificates for their premises; a few business licences are suspended or revoked, so the
approval re-check has something to catch. Writers put each department's data in the form
its adapter reads: a JSON file behind the SAMR REST stand-in, a PSB SQLite database, MNR
Parquet and FIRE CSV.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sqlite3
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from stdnum.cn import uscc

from catalog.identifiers import USCC_ALPHABET, generate_licence_id, generate_resident_id, generate_uscc

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
ETHNICITIES = ["汉族"] * 12 + ["回族", "满族", "蒙古族"]
STREETS = ["建国路", "朝阳北路", "望京街", "酒仙桥路", "东三环中路", "工体北路", "光华路", "三里屯路", "麦子店街"]
BRANDS = ["福满楼", "悦来", "金麦穗", "川味坊", "老北京", "一品香", "鑫源", "和顺", "聚德", "云海", "德兴", "瑞丰"]
TRADES = [
    ("餐饮管理", "餐饮服务；食品销售", "H6210"),
    ("科技", "技术开发、技术咨询、技术服务", "I6513"),
    ("商贸", "销售日用品、五金交电", "F5299"),
    ("文化传媒", "组织文化艺术交流活动", "R8890"),
    ("物业管理", "物业管理；停车场服务", "K7020"),
]
COMPANY_TYPES = [
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（法人独资）",
    "股份有限公司（非上市）",
]
AUTHORITY = "北京市朝阳区市场监督管理局"


def _organ_uscc(rng: random.Random) -> str:
    """A valid USCC of a government organ (registration authority 1, type 1)."""
    body = "11110105" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


@dataclass(frozen=True)
class Issuer:
    """An issuing authority: its own USCC and the licence type code (defining ministry USCC + 3)."""

    uscc: str
    type_code: str


@dataclass(frozen=True)
class Person:
    """An identity record of the population register (PSB)."""

    resident_id: str
    name: str
    sex: str
    birth_date: dt.date
    ethnicity: str
    address: str
    photo_digest: str
    card_valid_until: dt.date | None


@dataclass(frozen=True)
class Company:
    """A registered company and its business licence (SAMR)."""

    uscc: str
    name: str
    company_type: str
    legal_representative: Person
    registered_capital: str
    established_on: dt.date
    address: str
    business_scope: str
    industry_code: str
    employees: int
    status: str
    valid_until: dt.date | None
    licence_id: str


@dataclass(frozen=True)
class PropertyCertificate:
    """A real-property ownership certificate (MNR)."""

    licence_id: str
    certificate_number: str
    holder_name: str
    holder_id: str
    holder_id_type: str
    address: str
    area_m2: str
    use: str
    issued_on: dt.date
    status: str
    valid_until: dt.date | None


@dataclass(frozen=True)
class FireCertificate:
    """A fire-safety inspection certificate (FIRE)."""

    licence_id: str
    holder_uscc: str
    holder_name: str
    premises_address: str
    premises_area_m2: str
    inspection_date: dt.date
    inspectors: tuple[str, ...]
    status: str
    valid_until: dt.date | None


@dataclass(frozen=True)
class DemoData:
    """Everything the demo departments hold."""

    seed: int
    people: tuple[Person, ...]
    companies: tuple[Company, ...]
    properties: tuple[PropertyCertificate, ...]
    fire_certificates: tuple[FireCertificate, ...]

    def company(self, uscc_: str) -> Company:
        """The company with that USCC."""
        return next(c for c in self.companies if c.uscc == uscc_)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _address(rng: random.Random) -> str:
    return f"北京市朝阳区{rng.choice(STREETS)}{rng.randint(1, 300)}号"


def _person(rng: random.Random) -> Person:
    male = rng.random() < 0.5
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(365 * 40))
    resident_id = generate_resident_id(rng, region="110105", birth=birth, male=male)
    issued = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(365 * 8))
    return Person(
        resident_id=resident_id,
        name=_name(rng),
        sex="1" if male else "2",
        birth_date=birth,
        ethnicity=rng.choice(ETHNICITIES),
        address=_address(rng) + f"{rng.randint(1, 30)}单元{rng.randint(101, 2402)}",
        photo_digest=hashlib.sha256(f"photo:{resident_id}".encode()).hexdigest(),
        card_valid_until=None if birth.year < 1976 else issued.replace(year=issued.year + 20),
    )


def generate(seed: int, companies: int = 40) -> DemoData:
    """The demo's people, companies and certificates, the same for the same seed."""
    rng = random.Random(seed)
    samr = Issuer(_organ_uscc(rng), _organ_uscc(rng) + "B01")
    mnr = Issuer(_organ_uscc(rng), _organ_uscc(rng) + "P01")
    fire = Issuer(_organ_uscc(rng), _organ_uscc(rng) + "F01")
    people: list[Person] = [_person(rng) for _ in range(companies + companies // 2)]
    made: list[Company] = []
    properties: list[PropertyCertificate] = []
    fires: list[FireCertificate] = []
    used: set[str] = set()
    for i in range(companies):
        code = generate_uscc(rng)
        while code in used:
            code = generate_uscc(rng)
        used.add(code)
        trade, scope, industry = TRADES[0] if i % 2 == 0 else rng.choice(TRADES)
        established = dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(365 * 19))
        # Every tenth licence is suspended, every fifteenth revoked: the approval re-check must notice.
        status = "03" if i % 15 == 14 else "02" if i % 10 == 9 else "01"
        company = Company(
            uscc=code,
            name=f"北京{rng.choice(BRANDS)}{trade}有限公司" if i else f"北京{BRANDS[0]}餐饮管理有限公司",
            company_type=rng.choice(COMPANY_TYPES),
            legal_representative=people[i],
            registered_capital=f"{rng.choice((10, 30, 50, 100, 200, 500)) * 10000}.00",
            established_on=established,
            address=_address(rng),
            business_scope=scope,
            industry_code=industry,
            employees=rng.randint(3, 400),
            status=status,
            valid_until=None if rng.random() < 0.5 else established.replace(year=established.year + 30),
            licence_id=generate_licence_id(rng, type_code=samr.type_code, issuer_uscc=samr.uscc),
        )
        made.append(company)
        if i % 3 != 2:
            # The premises: owned by the legal representative (or the company), inspected by the fire service.
            by_company = rng.random() < 0.4
            area = f"{rng.randint(60, 900)}.{rng.randint(0, 99):02d}"
            properties.append(
                PropertyCertificate(
                    licence_id=generate_licence_id(rng, type_code=mnr.type_code, issuer_uscc=mnr.uscc),
                    certificate_number=f"京({established.year})朝阳区不动产权第{rng.randint(1, 9999999):07d}号",
                    holder_name=company.name if by_company else people[i].name,
                    holder_id=company.uscc if by_company else people[i].resident_id,
                    holder_id_type="001" if by_company else "111",
                    address=company.address,
                    area_m2=area,
                    use="商业" if i % 2 == 0 else rng.choice(("商业", "办公")),
                    issued_on=established - dt.timedelta(days=rng.randrange(30, 2000)),
                    status="01",
                    valid_until=dt.date(2046 + rng.randrange(20), 12, 31),
                )
            )
            inspected = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
            fires.append(
                FireCertificate(
                    licence_id=generate_licence_id(rng, type_code=fire.type_code, issuer_uscc=fire.uscc),
                    holder_uscc=company.uscc,
                    holder_name=company.name,
                    premises_address=company.address,
                    premises_area_m2=area,
                    inspection_date=inspected,
                    inspectors=(_name(rng), _name(rng)),
                    status="05" if i % 11 == 10 else "01",
                    valid_until=inspected.replace(year=inspected.year + 3),
                )
            )
    return DemoData(seed, tuple(people), tuple(made), tuple(properties), tuple(fires))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def samr_registry_records(data: DemoData) -> list[dict[str, Any]]:
    """Business licences as the SAMR registry's REST API answers them (its own nested JSON shape)."""
    return [
        {
            "data": {
                "uscc": c.uscc,
                "entity": {"name": c.name, "type": c.company_type, "address": c.address},
                "legal_rep": {"name": c.legal_representative.name, "id_number": c.legal_representative.resident_id},
                "capital": {"amount": c.registered_capital, "currency": "CNY"},
                "established": c.established_on.isoformat(),
                "scope": c.business_scope,
                "authority": {"name": AUTHORITY},
                "status_code": c.status,
                "term": {"start": c.established_on.isoformat(), "end": _iso(c.valid_until)},
                "e_licence": {"identifier": c.licence_id},
            }
        }
        for c in data.companies
    ]


def write_samr_registry(data: DemoData, path: Path) -> None:
    """The JSON file the SAMR REST stand-in serves."""
    path.write_text(json.dumps(samr_registry_records(data), ensure_ascii=False), encoding="utf-8")


def write_enterprise_register(data: DemoData, path: Path) -> None:
    """SAMR's bulk enterprise register as Parquet (column names as in the dataset)."""
    updated = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
    table = pa.table(
        {
            "unified_social_credit_code": [c.uscc for c in data.companies],
            "name": [c.name for c in data.companies],
            "company_type": [c.company_type for c in data.companies],
            "industry_code": [c.industry_code for c in data.companies],
            "region_code": [c.uscc[2:8] for c in data.companies],
            "registered_capital": pa.array(
                [Decimal(c.registered_capital) for c in data.companies], pa.decimal128(18, 2)
            ),
            "established_on": [c.established_on for c in data.companies],
            "employees": pa.array([c.employees for c in data.companies], pa.int32()),
            "status": [c.status for c in data.companies],
            "updated_at": pa.array([updated] * len(data.companies), pa.timestamp("us", tz="Asia/Shanghai")),
        }
    )
    pq.write_table(table, path)


PSB_COLUMNS = {
    "resident_id": "sfzh",
    "name": "xm",
    "sex": "xb",
    "birth_date": "csrq",
    "ethnicity": "mz",
    "address": "hjdz",
    "photo_digest": "zp_sha256",
    "card_valid_until": "yxqz",
}


def write_psb_database(data: DemoData, path: Path) -> None:
    """PSB's population register: a SQLite table with the bureau's own column names."""
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE residents ({', '.join(f'{c} TEXT' for c in PSB_COLUMNS.values())})")
        db.execute("CREATE UNIQUE INDEX residents_sfzh ON residents (sfzh)")
        db.executemany(
            f"INSERT INTO residents VALUES ({', '.join('?' * len(PSB_COLUMNS))})",
            [
                (
                    p.resident_id,
                    p.name,
                    p.sex,
                    p.birth_date.isoformat(),
                    p.ethnicity,
                    p.address,
                    p.photo_digest,
                    _iso(p.card_valid_until),
                )
                for p in data.people
            ],
        )
    db.close()


MNR_COLUMNS = {
    "licence_id": "dzzzbs",
    "certificate_number": "bdcqzh",
    "holder_name": "qlr",
    "holder_id": "qlrzjh",
    "holder_id_type": "qlrzjlx",
    "address": "zl",
    "area_m2": "mj",
    "use": "yt",
    "issued_on": "djrq",
    "status": "zt",
    "valid_until": "syqjsrq",
}


def write_mnr_parquet(data: DemoData, path: Path) -> None:
    """MNR's nightly export of the real-estate register as Parquet, with the register's column names."""
    rows = [asdict(p) for p in data.properties]
    columns: dict[str, Any] = {MNR_COLUMNS[name]: [r[name] for r in rows] for name in MNR_COLUMNS}
    columns["mj"] = pa.array([Decimal(v) for v in columns["mj"]], pa.decimal128(10, 2))
    pq.write_table(pa.table(columns), path)


FIRE_COLUMNS = {
    "licence_id": "certificate_id",
    "holder_uscc": "operator_uscc",
    "holder_name": "operator_name",
    "premises_address": "premises_address",
    "premises_area_m2": "area_m2",
    "inspection_date": "inspected_on",
    "inspectors": "inspectors",
    "status": "status",
    "valid_until": "valid_until",
}


def write_fire_csv(data: DemoData, path: Path) -> None:
    """FIRE's certificate list as CSV (inspectors separated by ';')."""
    rows = [asdict(f) for f in data.fire_certificates]
    columns = {
        FIRE_COLUMNS[name]: [";".join(v) if name == "inspectors" else v for v in (r[name] for r in rows)]
        for name in FIRE_COLUMNS
    }
    pacsv.write_csv(pa.table(columns), path)


def synthetic_register(rows: int, start: int = 0, name_chars: int = 17) -> pa.Table:
    """rows of a synthetic enterprise register, built column-wise (for bulk tests and benchmarks)."""
    index = pa.array(range(start, start + rows), pa.int64())
    text = pc.utf8_lpad(pc.cast(index, pa.string()), 9, "0")
    body = pc.binary_join_element_wise("91110105", text, "")
    region = pc.if_else(pc.equal(pc.bit_wise_and(index, 3), 0), "110108", "110105")
    return pa.table(
        {
            # Not valid USCCs (no check character): bulk rows are not keys anyone looks up.
            "unified_social_credit_code": pc.binary_join_element_wise(body, "X", ""),
            "name": pc.utf8_rpad(pc.binary_join_element_wise("Company ", text, ""), name_chars, "."),
            "company_type": pa.repeat("limited liability company", rows),
            "industry_code": pa.repeat("H6210", rows),
            "region_code": region,
            "registered_capital": pa.repeat(pa.scalar(Decimal("100000.00"), pa.decimal128(18, 2)), rows),
            "established_on": pa.repeat(pa.scalar(dt.date(2010, 1, 1), pa.date32()), rows),
            "employees": pc.cast(pc.bit_wise_and(index, 255), pa.int32()),
            "status": pc.if_else(pc.equal(pc.bit_wise_and(index, 15), 0), "03", "01"),
            "updated_at": pa.repeat(
                pa.scalar(dt.datetime(2026, 1, 5, tzinfo=dt.UTC), pa.timestamp("us", tz="Asia/Shanghai")), rows
            ),
        }
    )


def write_synthetic_register(path: Path, rows: int, row_group_rows: int = 65536, name_chars: int = 17) -> None:
    """A Parquet enterprise register of rows rows, written a row group at a time."""
    with pq.ParquetWriter(path, synthetic_register(0).schema) as writer:
        for start in range(0, rows, row_group_rows):
            writer.write_table(synthetic_register(min(row_group_rows, rows - start), start, name_chars))
