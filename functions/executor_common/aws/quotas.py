"""The Service Quotas adapter: the account's Fargate vCPU quotas (the default of MaxConcurrentVcpus).

Service code `fargate`; `L-3032A538` "Fargate On-Demand vCPU resource count" bounds the vCPUs of the
account's on-demand Fargate tasks in the Region, `L-36FBB829` "Fargate Spot vCPU resource count" those
of its Spot tasks: a Spot task counts against the Spot quota only. GetServiceQuota answers the applied value;
for a quota never adjusted in the account it may answer NoSuchResourceException ("If the applied quota value
is not available for a quota, the quota is not retrieved"), and then AWS's default value, from
GetAWSDefaultServiceQuota, is the quota. Neither action has resource-level permissions (IAM `Resource: "*"`).
"""

from __future__ import annotations

from typing import Any

from executor_common.aws import make_client
from executor_common.aws.classify import aws_call

FARGATE_SERVICE_CODE = "fargate"
ON_DEMAND_VCPU_QUOTA = "L-3032A538"
SPOT_VCPU_QUOTA = "L-36FBB829"


def make_quotas_client(region_name: str | None = None) -> Any:
    """Short timeouts, one attempt: a Lambda in a VPC with no `servicequotas` endpoint must not hang on it."""
    return make_client("service-quotas", region_name, read_timeout=5, connect_timeout=2, max_attempts=1)


class QuotasAdapter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def fargate_vcpu_quota(self, *, spot: bool) -> float:
        """The quota's applied value, else AWS's default; a classified project error when neither can be read."""
        code = SPOT_VCPU_QUOTA if spot else ON_DEMAND_VCPU_QUOTA
        quota = {"ServiceCode": FARGATE_SERVICE_CODE, "QuotaCode": code}
        with aws_call(f"Reading the account's Fargate vCPU quota {code} (GetServiceQuota)"):
            try:
                return float(self.client.get_service_quota(**quota)["Quota"]["Value"])
            except self.client.exceptions.NoSuchResourceException:
                pass  # no applied value: the account never changed it, so AWS's default is the quota
        with aws_call(f"Reading the default of the Fargate vCPU quota {code} (GetAWSDefaultServiceQuota)"):
            return float(self.client.get_aws_default_service_quota(**quota)["Quota"]["Value"])
