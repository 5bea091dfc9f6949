"""The annotated-copy benchmark: CPU and peak memory per signed copy (render with the CJK font, then PAdES-sign).

Makes N copies of a business licence in this process, each for a different company, person, address and
service item (so no two copies need the same characters and no cache of a previous copy's font serves the next),
the way the hub's AnnotatedCopyDesk does: `font_program` of the configured font, `render_copy`, `CopySigner.sign`.
The first copy (which loads the font) is reported apart from the others. Peak RSS is the process's high-water
mark (getrusage), taken after the last copy; the RSS before the first copy is what the imports cost.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.report import Result
from bench.world import EXAMPLES
from catalog.model import Dataset
from catalog.specs import parse_spec
from catalog.yaml_io import load_spec_file
from exchange.annotated import Annotation, CopySigner, render_copy, template_for
from exchange.annotated.render import font_program
from exchange.auth.pki import CA_CERT, DOCUMENT_SIGNING_CERT, DOCUMENT_SIGNING_KEY, init_pki
from exchange.config import Settings

# Surnames, given-name characters, places and trades the copies draw from: copy i takes the i-th of each,
# so the characters change from copy to copy.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "芳伟娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红蛾玲兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛"
CITIES = ("北京市东城区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "成都市武侯区", "杭州市西湖区",
          "武汉市江汉区", "西安市雁塔区", "南京市鼓楼区", "重庆市渝中区", "长沙市岳麓区", "郑州市金水区")  # fmt: skip
TRADES = ("餐饮管理", "软件开发", "建筑装饰", "物流运输", "医疗器械", "服装设计", "农产品加工", "文化传媒",
          "教育咨询", "环保科技", "汽车维修", "酒店管理")  # fmt: skip
ITEMS = ("食品经营许可", "消防安全检查", "建设工程规划许可", "道路运输经营许可", "医疗器械经营备案",
         "公共场所卫生许可", "出版物经营许可", "民办学校办学许可")  # fmt: skip


@dataclass(frozen=True)
class AnnotatedOptions:
    copies: int = 20
    font: str = Settings().annotated_copy_font


def licence(i: int) -> dict[str, Any]:
    """The i-th company's business licence: names and address in characters of its own."""
    person = SURNAMES[i % len(SURNAMES)] + GIVEN[(3 * i) % len(GIVEN)] + GIVEN[(3 * i + 1) % len(GIVEN)]
    city, trade = CITIES[i % len(CITIES)], TRADES[(i // len(CITIES)) % len(TRADES)]
    return {
        "unified_social_credit_code": f"91110105MA01{i:05d}X",
        "name": f"{city[:2]}{person}{trade}有限公司",
        "company_type": "有限责任公司",
        "legal_representative": person,
        "registered_capital": "500000.00",
        "established_on": "2019-05-20",
        "address": f"{city}{GIVEN[(5 * i) % len(GIVEN)]}{SURNAMES[(7 * i) % len(SURNAMES)]}路{i % 200 + 1}号",
        "business_scope": f"{trade}；{TRADES[(i + 5) % len(TRADES)]}；技术服务",
        "registration_authority": f"{city}市场监督管理局",
        "status": "01",
        "licence_id": f"11100000000013338W032911101{i:05d}",
    }


def annotation(i: int) -> Annotation:
    item = ITEMS[i % len(ITEMS)]
    return Annotation(
        f"case-{i:04d}", f"item_{i % len(ITEMS)}", item, "SAMR", "市场监督管理局", f"officer-{i}",
        1_800_000_000_000_000 + i * 60_000_000, 1_802_592_000_000_000, "business_licence",
        f"91110105MA01{i:05d}X", "SAMR", 1, 1000 + i, f"{i:064x}", "hub/bench/access-log",
    )  # fmt: skip


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


async def _copies(options: AnnotatedOptions, signer: CopySigner) -> tuple[list[float], list[float], list[int]]:
    """CPU milliseconds and wall milliseconds of each copy, and each signed PDF's size."""
    dataset = parse_spec(load_spec_file(EXAMPLES / "datasets" / "business_licence.yaml"))
    assert isinstance(dataset, Dataset)
    template = template_for(dataset)
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    sizes: list[int] = []
    for i in range(options.copies):
        cpu, wall = time.process_time(), time.perf_counter()
        font = font_program(options.font)
        unsigned = render_copy(template, licence(i), annotation(i), font=font)
        pdf = await signer.sign(unsigned, reason=f"加注件 annotated copy: {annotation(i).purpose_line}")
        cpu_ms.append((time.process_time() - cpu) * 1000)
        wall_ms.append((time.perf_counter() - wall) * 1000)
        sizes.append(len(pdf))
    return cpu_ms, wall_ms, sizes


def run(options: AnnotatedOptions) -> Result:
    if options.copies < 2:
        raise ValueError("--copies must be at least 2: the first copy is reported apart from the rest")
    with tempfile.TemporaryDirectory(prefix="bench-annotated-") as tmp:
        pki = init_pki(Path(tmp))
        signer = CopySigner.from_pem(
            (pki.directory / DOCUMENT_SIGNING_KEY).read_bytes(),
            (pki.directory / DOCUMENT_SIGNING_CERT).read_bytes(),
            (pki.directory / CA_CERT).read_bytes(),
            location="bench",
        )
        rss_before = _rss_mb()
        cpu_ms, wall_ms, sizes = asyncio.run(_copies(options, signer))
    peak = _peak_rss_mb()
    rest_cpu, rest_wall = cpu_ms[1:], wall_ms[1:]
    result = Result(
        "annotated",
        ["copies", "n", "cpu_ms_per_copy", "cpu_ms_p50", "cpu_ms_max", "wall_ms_p50"],
        [
            ["first (loads the font)", 1, cpu_ms[0], cpu_ms[0], cpu_ms[0], wall_ms[0]],
            [
                "each further copy",
                len(rest_cpu),
                statistics.fmean(rest_cpu),
                statistics.median(rest_cpu),
                max(rest_cpu),
                statistics.median(rest_wall),
            ],
        ],
    )
    result.figures = {
        "cpu_ms": [round(v, 2) for v in cpu_ms],
        "rss_before_first_copy_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_after_last_copy_mb": round(_rss_mb(), 1),
        "pdf_bytes_mean": round(statistics.fmean(sizes)),
    }
    result.notes.append(f"peak RSS {peak:.0f} MB (process high-water mark; {rss_before:.0f} MB before the first copy)")
    return result
