"""The entry point's logging: every record goes through the run's masker."""

from __future__ import annotations

import logging

from executor_common.masking import SecretMasker
from executor_runner.__main__ import MaskingFilter


def test_masking_filter_masks_message_args_and_traceback():
    masker = SecretMasker(["canary-log-secret-77"])
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s refused", ("canary-log-secret-77",), None)
    try:
        raise ValueError("bad canary-log-secret-77")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()

    MaskingFilter(masker).filter(record)
    text = logging.Formatter().format(record)

    assert "canary-log-secret-77" not in text
    assert "token ******** refused" in text
    assert "ValueError: bad ********" in text
