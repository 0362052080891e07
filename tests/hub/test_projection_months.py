"""The feed counts each entry in its month in the region's time zone (Asia/Shanghai, as the clinics' monthly
reports), including across month boundaries and when entries arrive out of month order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idverify.hub.projection import _Batch, month_of


def test_batch_months_follow_the_regions_calendar_at_the_boundaries() -> None:
    batch = _Batch("clinic")
    boundary = datetime(2026, 4, 30, 16, 0, tzinfo=UTC)  # 2026-05-01 00:00 in Shanghai
    times = [boundary - timedelta(microseconds=1), boundary, boundary + timedelta(days=31),  # 06-01 00:00 local
             boundary - timedelta(days=1), datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC),
             datetime(2026, 12, 31, 16, 0, tzinfo=UTC)]
    got = [batch.month(t) for t in times]
    assert got == ["2026-04", "2026-05", "2026-06", "2026-04", "2026-12", "2027-01"]
    assert got == [month_of(t) for t in times]
