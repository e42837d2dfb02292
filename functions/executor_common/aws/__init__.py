"""One adapter per AWS service: boto3 lives here and nowhere else in the logic.

Each adapter returns the project's models and turns `ClientError` codes into
`PermanentError` / `RetryableError`.
"""
