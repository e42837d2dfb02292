"""What one run cost on Fargate, estimated from its size, its time and a price table.

Fargate bills per second (one-minute minimum) for the task's vCPU and memory, from the start of
the image pull to the task's stop, plus ephemeral storage above the 20 GiB included with every
task; Fargate Spot is the same meters at a discount. The estimate leaves out what is billed
elsewhere: the image pull over a NAT gateway (per GB), CloudWatch Logs ingestion and storage,
S3 for the run folder, the Lambdas, SQS, and any data the source itself moves.

The price table is a stack parameter (`FargatePrices`, `SpotPriceFactor`), defaulting to the
published us-east-1 Linux/x86 on-demand prices; other regions and ARM differ.
"""

from __future__ import annotations

from dataclasses import dataclass

#: us-east-1 Fargate Linux/x86 on-demand: per vCPU-hour, per GB-hour, per GB-hour of storage over 20 GiB.
DEFAULT_PRICES = "0.04048,0.004445,0.000111"
#: Fargate Spot has been about 70 % cheaper; the real discount varies by region and over time.
DEFAULT_SPOT_FACTOR = 0.3
#: Ephemeral storage included in every Fargate task.
INCLUDED_EPHEMERAL_GIB = 20
MINIMUM_BILLED_SECONDS = 60
CPU_UNITS_PER_VCPU = 1024
MIB_PER_GB = 1024
LEFT_OUT = "not included: image pull over NAT, CloudWatch Logs, S3, Lambda, SQS, data transfer"


@dataclass(frozen=True)
class PriceTable:
    """USD per vCPU-hour, per GB-hour of memory, per GB-hour of ephemeral storage over 20 GiB."""

    vcpu_hour: float
    gb_hour: float
    storage_gb_hour: float
    spot_factor: float = DEFAULT_SPOT_FACTOR

    @classmethod
    def parse(cls, prices: str = DEFAULT_PRICES, spot_factor: float = DEFAULT_SPOT_FACTOR) -> PriceTable:
        """`"<vcpu-hour>,<gb-hour>,<storage-gb-hour>"`, the stack parameter's form; ValueError names the problem."""
        parts = [p.strip() for p in prices.split(",")]
        if len(parts) != 3:
            raise ValueError(
                f"Fargate prices must be three numbers (vCPU-hour, GB-hour, storage GB-hour), got {prices!r}"
            )
        values = [float(p) for p in parts]
        if any(v < 0 for v in values) or not 0 <= spot_factor <= 1:
            raise ValueError("Fargate prices must be >= 0 and the Spot factor between 0 and 1")
        vcpu_hour, gb_hour, storage_gb_hour = values
        return cls(vcpu_hour, gb_hour, storage_gb_hour, spot_factor=spot_factor)


@dataclass(frozen=True)
class RunUsage:
    """What Fargate bills a task for: its size, how long it ran, on which capacity."""

    cpu_units: int
    memory_mib: int
    seconds: float
    ephemeral_gib: int = INCLUDED_EPHEMERAL_GIB
    spot: bool = False


@dataclass(frozen=True)
class CostEstimate:
    vcpu_seconds: float
    gb_seconds: float
    extra_storage_gb_seconds: float
    spot: bool
    usd: float

    def sentence(self) -> str:
        """One line for the report: the meters, the capacity, the price and what it leaves out."""
        capacity = "Fargate Spot" if self.spot else "Fargate on-demand"
        storage = (
            f", {self.extra_storage_gb_seconds:,.0f} GB-seconds of ephemeral storage over 20 GiB"
            if self.extra_storage_gb_seconds
            else ""
        )
        return (
            f"Estimated cost: ${self.usd:.4f} ({capacity}; {self.vcpu_seconds:,.0f} vCPU-seconds, "
            f"{self.gb_seconds:,.0f} GB-seconds{storage}; {LEFT_OUT})"
        )


def estimate(usage: RunUsage, prices: PriceTable) -> CostEstimate:
    """Fargate's meters for one task, priced; billed seconds have Fargate's one-minute minimum."""
    seconds = max(float(usage.seconds), MINIMUM_BILLED_SECONDS)
    vcpu_seconds = usage.cpu_units / CPU_UNITS_PER_VCPU * seconds
    gb_seconds = usage.memory_mib / MIB_PER_GB * seconds
    extra_storage_gb_seconds = max(0, usage.ephemeral_gib - INCLUDED_EPHEMERAL_GIB) * seconds
    usd = (
        vcpu_seconds * prices.vcpu_hour
        + gb_seconds * prices.gb_hour
        + extra_storage_gb_seconds * prices.storage_gb_hour
    ) / 3600
    if usage.spot:
        usd *= prices.spot_factor
    return CostEstimate(vcpu_seconds, gb_seconds, extra_storage_gb_seconds, usage.spot, round(usd, 6))
