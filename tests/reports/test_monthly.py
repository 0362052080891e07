"""Monthly statistics: month boundaries in Beijing time, exact counts per stage/decision, reasons, overrides,
alerts, acquisition failures, error estimates and per-staff figures — as JSON, CSV and PDF — and who may read them."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from idverify.biometrics.reasons import Reason
from idverify.errors import ValidationFailed
from idverify.i18n import catalogue
from idverify.reports.estimates import wilson_interval
from idverify.reports.monthly import parse_month
from idverify.reports.tabular import CSV_HEADER

from . import seeding


def test_month_boundaries_follow_the_time_zone() -> None:
    p = parse_month("2026-10", "Asia/Shanghai")
    assert p.start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert p.end == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    dec = parse_month("2026-12", "UTC")
    assert (dec.start, dec.end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    for bad in ("2026-13", "2026-1", "26-10", "", "2026-10-01", "1999-12"):
        with pytest.raises(ValidationFailed):
            parse_month(bad, "UTC")
    with pytest.raises(ValidationFailed):
        parse_month("2026-10", "Mars/Olympus")


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def _inspector(seeded: Any) -> Any:
    client, _ = seeded.daemon.login("inspector")
    return client


def test_monthly_json_counts(seeded: Any) -> None:
    resp = _inspector(seeded).get(f"/api/v1/reports/monthly?month={seeding.MONTH}")
    assert resp.status_code == 200, resp.text
    r = resp.json()
    checks = seeding.in_month()
    assert len(checks) == 8  # c9 and c10 fall just outside October in Beijing time; c8 just inside
    assert r["month"] == "2026-10" and r["timezone"] == "Asia/Shanghai"
    assert r["checks"]["total"] == len(checks)
    decisions = ("accept", "reject", "retry")
    assert r["checks"]["by_decision"] == {d: sum(c.decision == d for c in checks) for d in decisions}
    assert r["checks"]["by_decision"] == {"accept": 4, "reject": 3, "retry": 1}
    by_stage = r["checks"]["by_stage"]
    assert set(by_stage) == {"sperm_retrieval", "egg_retrieval", "embryo_transfer"}
    assert by_stage["sperm_retrieval"] == {"total": 2, "accept": 2, "reject": 0, "retry": 0, "overridden": 0}
    assert by_stage["egg_retrieval"] == {"total": 3, "accept": 1, "reject": 1, "retry": 1, "overridden": 1}
    assert by_stage["embryo_transfer"] == {"total": 3, "accept": 1, "reject": 2, "retry": 0, "overridden": 0}
    assert r["checks"]["overridden"] == 1
    # reasons of rejected checks, most frequent first
    expected = Counter(Reason.parse(reason).grouped().key for c in checks if c.decision == "reject"
                       for reason in c.reasons)
    assert {x["reason"]: x["count"] for x in r["reject_reasons"]} == dict(expected)
    # grouped by code and factor: the scores of each check are left out
    assert r["reject_reasons"][0] == {"reason": "fingerprint_mismatch", "code": "fingerprint_mismatch", "params": {},
                                      "count": 2}
    assert {"reason": "liveness_failed:face", "code": "liveness_failed", "params": {"factor": "face"},
            "count": 1} in r["reject_reasons"]
    # a reason stored as free text (before reason codes) is counted under its text
    assert {"reason": "read the card again", "code": "legacy_text", "params": {"text": "read the card again"},
            "count": 1} in r["retry_reasons"]
    assert r["overrides"] == {"total": 1, "by_reason": {"worn_fingerprints": 1}, "by_stage": {"egg_retrieval": 1},
                              "by_original_decision": {"reject": 1}}
    assert r["enrolments"]["total"] == 4 and r["enrolments"]["patients_enrolled"] == 2
    assert r["enrolments"]["by_status"] == {"complete": 2, "retry": 1, "rejected": 0, "duplicate_suspected": 1}
    assert r["alerts"] == {"duplicate_identity_enrolments": 1, "card_of_another_patient": 1, "repeated_rejects": 0}
    acq = r["acquisition_failures"]
    assert (acq["fingerprint"]["attempts"], acq["fingerprint"]["failures"]) == (8, 1)
    assert acq["fingerprint"]["rate"] == pytest.approx(1 / 8)
    assert acq["fingerprint"]["by_device"] == {"sensor": {"attempts": 8, "failures": 1, "rate": 0.125}}
    assert (acq["face"]["attempts"], acq["face"]["failures"]) == (8, 0)
    assert (acq["document"]["attempts"], acq["document"]["failures"]) == (8, 1)
    est = r["error_estimates"]
    assert est["genuine_checks"] == 5 and est["impostor_checks"] == 1  # 4 accepts + 1 override; c6 (card of other)
    assert (est["false_reject_rate"]["errors"], est["false_reject_rate"]["trials"]) == (1, 5)
    assert (est["fnmr"]["fingerprint"]["errors"], est["fnmr"]["fingerprint"]["trials"]) == (1, 5)
    assert (est["fnmr"]["face"]["errors"], est["fnmr"]["face"]["trials"]) == (0, 5)
    assert (est["fmr"]["face"]["errors"], est["fmr"]["face"]["trials"]) == (1, 1)
    assert (est["fmr"]["fingerprint"]["errors"], est["fmr"]["fingerprint"]["trials"]) == (0, 1)
    assert est["fnmr"]["face"]["ci95_high"] > 0 and est["fnmr"]["face"]["comparable"] is False
    assert "lower bound" in est["method"]
    staff = {p["staff_id"]: p for p in r["staff"]}
    n1, n2 = seeded.staff["nurse1"], seeded.staff["nurse2"]
    assert staff[n1] | {"staff_id": None} == {"staff_id": None, "checks": 4, "accept": 2, "reject": 2, "retry": 0,
                                                "enrolments": 3, "overrides_requested": 1, "overrides_witnessed": 0}
    assert staff[n2]["checks"] == 4 and staff[n2]["retry"] == 1 and staff[n2]["overrides_witnessed"] == 1
    # ids only: no patient name or document number anywhere in the report
    text = resp.text
    for person in (seeding.ZHANG, seeding.LI, seeding.WANG):
        assert person["name"] not in text and person["document_number"] not in text
    # ledger alerts count in the month they were recorded (now, in UTC)
    month = datetime.now(UTC).strftime("%Y-%m")
    now_report = _inspector(seeded).get(f"/api/v1/reports/monthly?month={month}&tz=UTC").json()
    assert now_report["alerts"]["repeated_rejects"] == seeded.alerts_now


def test_monthly_csv_and_pdf(seeded: Any, tmp_path: Path) -> None:
    client = _inspector(seeded)
    resp = client.get(f"/api/v1/reports/monthly.csv?month={seeding.MONTH}")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel on Chinese Windows reads it as UTF-8
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER
    table = {(s, k, m): v for s, k, m, v, _ in rows[1:]}
    labels = {(s, k): label for s, k, _, _, label in rows[1:]}
    assert table[("checks", "", "total")] == "8"
    assert table[("checks_by_stage", "egg_retrieval", "retry")] == "1"
    assert table[("overrides_by_reason", "worn_fingerprints", "count")] == "1"
    assert table[("reject_reasons", "fingerprint_mismatch", "count")] == "2"
    # the label column says it in the download's language (zh-CN unless lang says otherwise)
    zh = catalogue("zh-CN")
    assert labels[("reject_reasons", "fingerprint_mismatch")] == zh["reason.fingerprint_mismatch"]
    assert labels[("reject_reasons", "liveness_failed:face")] == zh["reason.liveness_failed"].format(
        factor=zh["factor.face"])
    assert labels[("checks_by_stage", "egg_retrieval")] == zh["stage.egg_retrieval"]
    assert labels[("checks", "")] == ""
    assert table[("fnmr", "fingerprint", "trials")] == "5"
    assert len(table) == len(rows) - 1  # every figure appears once
    # the download is an audited export
    events = client.get("/api/v1/audit/events?type=export.created").json()["items"]
    assert [e["data"]["format"] for e in events] == ["monthly.csv"]

    resp = client.get(f"/api/v1/reports/monthly.pdf?month={seeding.MONTH}&lang=en")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    pdf = resp.content
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000  # three charts and tables
    latest = client.get("/api/v1/audit/checkpoints/latest").json()
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed: text of the PDF not checked")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = "".join(text.split())
    assert "".join(latest["root_hash"].split()) in flat  # the checkpoint root is printed
    assert f"treesize{latest['tree_size']}" in flat.lower()
    assert "2026-10" in text and "Checks per stage" in text and "FNMR" in text
    assert seeding.ZHANG["document_number"] not in text
    if shutil.which("pdftoppm") is not None:  # page 1 as a person sees it: the chart's colours are there
        from PIL import Image

        subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "p")],
                       check=True)
        page = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
        colours: dict[tuple[int, ...], int] = {  # RGB page: every colour is a tuple
            colour: n for n, colour in page.getcolors(maxcolors=1 << 24) or [] if isinstance(colour, tuple)}
        green, red = (0x2E, 0x7D, 0x32), (0xC6, 0x28, 0x28)  # accept / reject bars

        def near(c: tuple[int, ...], ref: tuple[int, int, int]) -> bool:
            return sum(abs(a - b) for a, b in zip(c, ref, strict=True)) < 30

        assert sum(n for c, n in colours.items() if near(c, green)) > 200
        assert sum(n for c, n in colours.items() if near(c, red)) > 100


def _pdf_fonts(path: Path) -> list[dict[str, str]]:
    """``pdffonts`` as rows: name, type, emb, sub (poppler-utils; installed by ``make test``)."""
    if shutil.which("pdffonts") is None:
        pytest.fail("pdffonts (poppler-utils) is needed to check the report's fonts: run `make test`")
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    header = out[0].split()
    cols = {name: out[0].index(name) for name in ("name", "type", "emb", "sub")}
    rows = []
    for line in out[2:]:
        rows.append({"name": line[:cols["type"]].strip(), "emb": line[cols["emb"]:cols["emb"] + 3].strip(),
                     "sub": line[cols["sub"]:cols["sub"] + 3].strip()})
    assert header[0] == "name" and rows
    return rows


def test_monthly_pdf_is_written_in_chinese_with_every_font_embedded(seeded: Any, tmp_path: Path) -> None:
    """The commission's copy: Chinese headings, one CJK font embedded as a subset, no font left to the reader."""
    client = _inspector(seeded)
    for lang in ("zh-CN", "en"):
        resp = client.get(f"/api/v1/reports/monthly.pdf?month={seeding.MONTH}&lang={lang}")
        assert resp.status_code == 200, resp.text
        path = tmp_path / f"report-{lang}.pdf"
        path.write_bytes(resp.content)
        fonts = _pdf_fonts(path)
        assert all(f["emb"] == "yes" for f in fonts), fonts  # Helvetica and STSong-Light were references before
        assert all(f["sub"] == "yes" for f in fonts), fonts  # only the glyphs used travel with the file
    zh = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report-zh-CN.pdf"), "-"], capture_output=True,
                        text=True, check=True).stdout
    for heading in ("患者身份核验月度报告", "主要数据", "各环节核验次数", "设备：采集失败", "审计账本锚点", "取卵"):
        assert heading in zh, heading
    assert "Key figures" not in zh and "Checks per stage" not in zh
    # a heading never ends a page: the text that follows each one is on the same page
    pages = zh.split("\f")
    for page in pages:
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        for heading in ("各环节核验次数", "设备：采集失败", "各员工工作量（员工编号）", "审计账本锚点"):
            if lines and lines[-1] == heading:
                pytest.fail(f"heading {heading} alone at the bottom of a page")
    bad = client.get(f"/api/v1/reports/monthly.pdf?month={seeding.MONTH}&lang=fr")
    assert bad.status_code == 422


def test_missing_report_font_is_a_clear_503_not_a_pdf_without_chinese(make_app: Any, tmp_path: Path) -> None:
    daemon = make_app(report_font=tmp_path / "no-such-font.ttf")
    client, _ = daemon.login("inspector")
    resp = client.get("/api/v1/reports/monthly.pdf?month=2026-02")
    assert resp.status_code == 503
    err = resp.json()["error"]
    assert err["code"] == "report_font_missing" and "IDVERIFY_REPORT_FONT" in err["message"]


def test_reports_refused_to_nurse_and_it_admin_and_bad_parameters_are_4xx(make_app: Any) -> None:
    daemon = make_app()
    refused = [daemon.login(user)[0] for user in ("nurse1", "admin")]
    for path in ("/api/v1/reports/monthly?month=2026-10", "/api/v1/reports/monthly.csv?month=2026-10",
                 "/api/v1/reports/monthly.pdf?month=2026-10"):
        for client in refused:
            resp = client.get(path)
            assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
        assert daemon.client().get(path).status_code == 401
    client, _ = daemon.login("inspector")
    empty = client.get("/api/v1/reports/monthly.pdf?month=2026-02")  # a month with nothing in it still renders
    assert empty.status_code == 200 and empty.content.startswith(b"%PDF-")
    assert client.get("/api/v1/reports/monthly?month=2026-02").json()["checks"]["total"] == 0
    for query in ("month=2026-13", "month=garbage", "", "month=2026-10&tz=Nowhere/City", "month=2026-10&tz=../../etc"):
        resp = client.get(f"/api/v1/reports/monthly?{query}")
        assert 400 <= resp.status_code < 500, (query, resp.status_code)
        assert set(resp.json()["error"]) == {"code", "message", "message_key", "details"}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_pdf_reason_tables_are_in_the_report_language(seeded: Any, tmp_path: Path, lang: str) -> None:
    """Reject and retry reasons are printed as tables (not only in the chart) in the report's language: the Chinese
    report carries the Chinese labels and none of the English ones."""
    resp = _inspector(seeded).get(f"/api/v1/reports/monthly.pdf?month={seeding.MONTH}&lang={lang}")
    assert resp.status_code == 200
    path = tmp_path / "report.pdf"
    path.write_bytes(resp.content)
    flat = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    words, other = catalogue(lang), catalogue("en" if lang == "zh-CN" else "zh-CN")
    for key in ("reason.fingerprint_mismatch", "reason.card_of_another_patient", "reason.finger_quality_low",
                "reason.pdf.retries_by_reason"):
        assert "".join(words[key].split()) in flat, key
        assert "".join(other[key].split())[:12] not in flat, key
    assert "".join(words["reason.liveness_failed"].format(factor=words["factor.face"]).split()) in flat
    assert "readthecardagain" in flat  # a reason stored as text before reason codes is printed as it was
