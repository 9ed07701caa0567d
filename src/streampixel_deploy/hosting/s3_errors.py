"""What an S3 failure means for the user: boto3/botocore errors turned into a HostingError that says what to do.

Every message names the setting to change by its action input and CLI flag, quotes the server's own message
last (secrets and signatures removed), and never holds a key, a secret or a signed URL.
"""

from __future__ import annotations

from streampixel_deploy.core.errors import HostingConfigError, HostingError, ref
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.settings.table import S3Settings


def explain(exc: BaseException, doing: str, settings: S3Settings, where: str) -> HostingError | None:
    """A HostingError for a boto3/botocore error met while ``doing``; None for anything else.

    ``where`` names the bucket and its endpoint or region, as the user configured them.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        CredentialRetrievalError,
        NoCredentialsError,
        PartialCredentialsError,
        SSLError,
    )

    keys = f"{ref('s3-access-key-id')} and {ref('s3-secret-access-key')}"
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        return HostingConfigError(
            f"No usable S3 credentials were found while {doing}. Set {keys}, or give the job AWS credentials "
            "(aws-actions/configure-aws-credentials with OIDC, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)."
        )
    if isinstance(exc, SSLError):
        return HostingError(
            f"TLS failed while {doing} with {where}. Check {ref('s3-endpoint-url')} and the CA bundle "
            "(AWS_CA_BUNDLE) if the endpoint uses a private certificate."
        )
    if isinstance(exc, ConnectionError):
        return HostingError(
            f"Could not reach the S3 endpoint while {doing} ({type(exc).__name__}) for {where}. Check "
            f"{ref('s3-endpoint-url')} and that this runner can reach it."
        )
    if isinstance(exc, ClientError):
        return _client_error(exc, doing, settings, where, keys)
    if isinstance(exc, BotoCoreError):
        return HostingError(f"S3 failed while {doing} ({where}): {scrub(str(exc))}")
    return None


def _client_error(exc: BaseException, doing: str, settings: S3Settings, where: str, keys: str) -> HostingError:
    code, status = error_code(exc), http_status(exc)
    said = server_message(exc, settings)
    if code == "InvalidAccessKeyId":
        return HostingError(
            f"S3 does not know the access key ID used while {doing} ({where}). Check "
            f"{ref('s3-access-key-id')}, or the credentials the workflow configures."
        )
    if code == "SignatureDoesNotMatch":
        return HostingError(
            f"S3 rejected the request signature while {doing} ({where}): the secret access key does not "
            f"match the access key ID. Check {ref('s3-secret-access-key')}."
        )
    if code in ("ExpiredToken", "TokenRefreshRequired", "InvalidToken", "ExpiredTokenException"):
        return HostingError(
            f"The S3 credentials have expired or are invalid ({code}) while {doing}. Refresh them "
            "(re-run aws-actions/configure-aws-credentials, or raise its role-duration-seconds)."
        )
    if code == "NoSuchBucket" or (status == 404 and doing == "checking the bucket"):
        return HostingError(
            f"The {where} does not exist. Create it, or fix {ref('s3-bucket')}"
            + (f" or {ref('s3-endpoint-url')}." if settings.endpoint_url else f" or {ref('s3-region')}.")
        )
    if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
        return HostingError(
            f"The bucket {settings.bucket!r} is in another region than the one used ({code}) while "
            f"{doing}. Set {ref('s3-region')} to the bucket's region."
        )
    if code in ("AccessDenied", "403", "AllAccessDisabled", "AccountProblem") or status == 403:
        prefix = f"{settings.prefix}/*" if settings.prefix else "*"
        return HostingError(
            f"Access denied while {doing} ({where}). The credentials need s3:PutObject, s3:GetObject and "
            f"s3:AbortMultipartUpload on arn:aws:s3:::{settings.bucket}/{prefix} (and s3:DeleteObject for a "
            f"dry run). If the key or secret is wrong, fix {keys}.{said}"
        )
    if (status is not None and status >= 500) or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
        return HostingError(
            f"The S3 service failed while {doing} ({code or 'HTTP ' + str(status)}); run the step again later.{said}"
        )
    return HostingError(f"S3 refused {doing} ({where}): {code or 'HTTP ' + str(status)}.{said}")


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError (``NoSuchKey``, ``AccessDenied``…), or ``''``."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a ClientError's response, when there was one."""
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if isinstance(status, int) else None


def server_message(exc: BaseException, settings: S3Settings) -> str:
    """`` S3 said: …`` with the server's message (keys and signatures removed), or ``''``."""
    response = getattr(exc, "response", None) or {}
    message = str(response.get("Error", {}).get("Message", "") or "").strip()
    if not message:
        return ""
    for secret in (settings.access_key_id, settings.secret_access_key):
        if secret:
            message = message.replace(secret, "***")
    return f" S3 said: {scrub(message)[:300]}"
