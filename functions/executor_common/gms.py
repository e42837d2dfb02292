"""The one DataHub GMS client: writes and reads the `dataHubExecutionRequestResult` aspect.

Speaks rest.li exactly as DataHub's own emitter does (`POST /aspects?action=ingestProposal`,
`GET /aspects/{urn}?aspect=...&version=0`), so it works against real GMS and the stand-in.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from executor_common.contract import EXECUTION_REQUEST_ENTITY, RESULT_ASPECT
from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult

logger = logging.getLogger(__name__)

RESULT_RECORD_NAME = "com.linkedin.execution.ExecutionRequestResult"
INPUT_ASPECT_NAME = "dataHubExecutionRequestInput"
INPUT_RECORD_NAME = "com.linkedin.execution.ExecutionRequestInput"
DEFAULT_TIMEOUT_SECONDS = 10.0
#: Opens every GmsError for a request that got no answer (no route, DNS, refused, timeout); the self-test
#: looks for it in the runner's log.
UNREACHABLE = "GMS unreachable at"

#: Called before every request: the Lambdas pass one that reads the secret through powertools' cache,
#: so a rotated token is used as soon as that cache expires, without a new client or a cold start.
TokenProvider = Callable[[], str | None]


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


class GmsClient:
    """A small, typed client; every call carries the bearer token and the rest.li protocol header.

    `token` is a `TokenProvider` (asked per request), or a fixed token for a caller whose token cannot
    change while it lives (the runner: ECS injected it at task start).
    """

    def __init__(
        self,
        server: str,
        token: TokenProvider | str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        session_retries: int = 2,
    ) -> None:
        self.server = server.rstrip("/")
        self._session = _TimeoutSession(timeout)
        retry = Retry(
            total=session_retries,
            connect=session_retries,
            read=session_retries,
            status=session_retries,
            backoff_factor=0.3,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(
            {
                "X-RestLi-Protocol-Version": "2.0.0",
                "Content-Type": "application/json",
                "User-Agent": "datahub-aws-executor",
            }
        )
        self._token: TokenProvider = token if callable(token) else (lambda: token)
        #: A fixed token cannot change while we retry, so a refused token is final for this client.
        self._token_is_fixed = not callable(token)

    # -- writes -------------------------------------------------------------------------
    def write_result(self, urn: str, result: ExecutionRequestResult) -> None:
        """Upsert the result aspect once (the session already retries 429/5xx briefly)."""
        payload = {
            "proposal": {
                "entityType": EXECUTION_REQUEST_ENTITY,
                "entityUrn": urn,
                "changeType": "UPSERT",
                "aspectName": RESULT_ASPECT,
                "aspect": {"value": result.bounded().to_aspect_json(), "contentType": "application/json"},
            },
            "async": "false",
        }
        self._call("POST", f"{self.server}/aspects?action=ingestProposal", data=json.dumps(payload))

    def write_result_with_retry(
        self,
        urn: str,
        result: ExecutionRequestResult,
        *,
        deadline_seconds: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> bool:
        """The terminal write: retried with jittered backoff until `deadline_seconds`, shrinking on 413.

        Returns True once GMS accepted it; False when it gave up (not retryable, or out of time).
        """
        give_up_at = clock() + deadline_seconds
        attempt = 0
        candidate = result
        while True:
            attempt += 1
            try:
                self.write_result(urn, candidate)
                return True
            except GmsError as exc:
                if exc.status_code == 413 and candidate.structuredReport is not None:
                    candidate = candidate.model_copy(update={"structuredReport": None})
                    candidate = candidate.model_copy(
                        update={
                            "report": "[structured report dropped: GMS refused the size]\n" + (candidate.report or "")
                        }
                    )
                    continue
                if exc.status_code == 413 and len(candidate.report or "") > 2_000:
                    candidate = candidate.bounded(max_report_chars=max(2_000, len(candidate.report or "") // 4))
                    continue
                if not exc.retryable or (exc.setup_refused and self._token_is_fixed):
                    logger.error(
                        "GMS refused the %s result for %s (HTTP %s): %s", result.status, urn, exc.status_code, exc
                    )
                    return False
                delay = min(30.0, 0.5 * 2 ** min(attempt, 6)) * (0.5 + random.random() / 2)
                if clock() + delay > give_up_at:
                    logger.error(
                        "Giving up writing the %s result for %s after %d attempts: %s", result.status, urn, attempt, exc
                    )
                    return False
                logger.warning("GMS write for %s failed (attempt %d, retrying in %.1fs): %s", urn, attempt, delay, exc)
                sleep(delay)

    # -- reads --------------------------------------------------------------------------
    def read_result(self, urn: str) -> ExecutionRequestResult | None:
        """The current result aspect, or None when DataHub has none yet."""
        url = f"{self.server}/aspects/{quote(urn, safe='')}?aspect={RESULT_ASPECT}&version=0"
        response = self._call("GET", url, allow_404=True)
        if response is None:
            return None
        body = response.json()
        aspect = (body.get("aspect") or {}).get(RESULT_RECORD_NAME)
        if aspect is None:
            return None
        return ExecutionRequestResult.model_validate(
            {k: v for k, v in aspect.items() if k in ExecutionRequestResult.model_fields}
        )

    def execute_graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`POST /api/graphql` as DataHubGraph sends it; the whole answer (GraphQL errors come with HTTP 200)."""
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        response = self._call("POST", f"{self.server}/api/graphql", data=json.dumps(body))
        assert response is not None
        try:
            answer = response.json()
        except ValueError:
            raise GmsError("GMS answered /api/graphql with something that is not JSON") from None
        return answer if isinstance(answer, dict) else {}

    def read_input(self, urn: str) -> dict[str, Any] | None:
        """The execution request's input aspect as DataHub stores it (task, args, source), or None."""
        url = f"{self.server}/aspects/{quote(urn, safe='')}?aspect={INPUT_ASPECT_NAME}&version=0"
        response = self._call("GET", url, allow_404=True)
        if response is None:
            return None
        aspect = (response.json().get("aspect") or {}).get(INPUT_RECORD_NAME)
        return dict(aspect) if isinstance(aspect, dict) else None

    # -- plumbing -----------------------------------------------------------------------
    def _call(self, method: str, url: str, *, allow_404: bool = False, **kwargs: Any) -> requests.Response | None:
        token = self._token()  # per request: the provider's cache decides when a rotated token is read
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._session.request(method, url, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise GmsError(f"{UNREACHABLE} {self.server}: {type(exc).__name__}") from None
        if allow_404 and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise GmsError(
                f"GMS answered HTTP {response.status_code} to {method} {url.split('?')[0]}: {response.text[:300]}",
                status_code=response.status_code,
            )
        return response
