"""The DataHub GMS base URL rule, shared by every settings model that reads DATAHUB_GMS_URL."""

from __future__ import annotations

from urllib.parse import urlsplit

#: DataHub Cloud serves GMS under `/gms`; open-source GMS is addressed directly (`http://datahub-gms:8080`).
DATAHUB_CLOUD_DOMAIN = "acryl.io"


def checked_gms_url(value: str) -> str:
    """DATAHUB_GMS_URL without a trailing slash; ValueError unless it is an http(s) base URL.

    DataHub Cloud (`*.acryl.io`) serves GMS under `/gms`, so such a URL must end in `/gms`.
    """
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "DATAHUB_GMS_URL must be an http(s) base URL, e.g. http://datahub-gms:8080 or https://<tenant>.acryl.io/gms"
        )
    if parts.query or parts.fragment:
        raise ValueError("DATAHUB_GMS_URL must be a base URL without a query or fragment")
    host = parts.hostname.lower()
    is_cloud = host == DATAHUB_CLOUD_DOMAIN or host.endswith("." + DATAHUB_CLOUD_DOMAIN)
    if is_cloud and not parts.path.endswith("/gms"):
        raise ValueError(f"DATAHUB_GMS_URL for DataHub Cloud must end in /gms, e.g. https://{host}/gms")
    return value
