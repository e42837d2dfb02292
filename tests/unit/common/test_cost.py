"""The Fargate cost estimate: meters, minimum, Spot, storage over 20 GiB, the price table's form."""

from __future__ import annotations

import pytest
from executor_common.cost import PriceTable, RunUsage, estimate

US_EAST_1 = PriceTable.parse()


@pytest.mark.parametrize(
    ("usage", "usd", "vcpu_s", "gb_s", "storage_gb_s"),
    [
        # one hour of 1 vCPU / 2 GB on demand: 0.04048 + 2 * 0.004445
        (RunUsage(cpu_units=1024, memory_mib=2048, seconds=3600), 0.04937, 3600, 7200, 0),
        # the same on Spot at the default factor 0.3
        (RunUsage(cpu_units=1024, memory_mib=2048, seconds=3600, spot=True), 0.014811, 3600, 7200, 0),
        # 30 s is billed as Fargate's one-minute minimum
        (RunUsage(cpu_units=256, memory_mib=512, seconds=30), 0.000206, 15, 30, 0),
        # 50 GiB of ephemeral storage: 30 GiB over the included 20, for an hour
        (RunUsage(cpu_units=1024, memory_mib=2048, seconds=3600, ephemeral_gib=50), 0.0527, 3600, 7200, 108000),
    ],
)
def test_estimate_table_prices_each_meter(usage, usd, vcpu_s, gb_s, storage_gb_s):
    cost = estimate(usage, US_EAST_1)
    assert cost.usd == pytest.approx(usd, abs=1e-6)
    assert (cost.vcpu_seconds, cost.gb_seconds, cost.extra_storage_gb_seconds) == (vcpu_s, gb_s, storage_gb_s)


def test_estimate_sentence_names_capacity_meters_and_what_is_left_out():
    text = estimate(RunUsage(cpu_units=1024, memory_mib=2048, seconds=3600, spot=True), US_EAST_1).sentence()
    assert text.startswith("Estimated cost: $0.0148 (Fargate Spot; 3,600 vCPU-seconds, 7,200 GB-seconds;")
    assert "image pull over NAT" in text and "CloudWatch" in text


def test_price_table_parse_custom_region_prices():
    table = PriceTable.parse("0.05,0.005,0.0002", spot_factor=0.4)
    assert (table.vcpu_hour, table.gb_hour, table.storage_gb_hour, table.spot_factor) == (0.05, 0.005, 0.0002, 0.4)


@pytest.mark.parametrize(
    ("prices", "factor"), [("0.04,0.004", 0.3), ("a,b,c", 0.3), ("0.04,-1,0", 0.3), ("0.04,0.004,0.0001", 1.5)]
)
def test_price_table_parse_bad_values_raises(prices, factor):
    with pytest.raises(ValueError):
        PriceTable.parse(prices, factor)
