"""SES (v2 API): raw MIME sends through the configuration set, and identity checks."""

from __future__ import annotations

import time

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.adapters.aws import client, error_code
from chalicelib.ports import Mailer, Paused, Rejected, SendQuota, Throttled, Unsure

QUOTA_SECONDS = 60  # how long a container trusts the quota it read
# Errors after which nothing can be sent for a while, whatever the email.
_PAUSED = frozenset({"SendingPausedException", "AccountSuspendedException"})

# Errors after which the same send can succeed later, the email not having left.
_RETRYABLE = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceededException",
    }
)
# Errors after which the email may have left: SES failed while or after taking it.
_UNSURE = frozenset({"ServiceUnavailable", "InternalFailure", "InternalServiceError"})


class SesMailer(Mailer):
    def __init__(
        self, configuration_set: str | None, max_send_rate: float = 0, max_24_hour: float = 0
    ) -> None:
        self.configuration_set = configuration_set
        self._limits = (max_send_rate, max_24_hour)  # 0: as SES says
        self._quota: tuple[float, SendQuota] | None = None

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        request = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": k, "Value": v} for k, v in tags.items()],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return client("sesv2").send_email(**request)["MessageId"]
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            # No connection to SES was made: the email did not leave and can go later.
            raise Throttled(type(error).__name__) from error
        except (ReadTimeoutError, ConnectionClosedError) as error:
            # The request went; its answer did not come back: it may have been sent.
            raise Unsure(type(error).__name__) from error
        except ClientError as error:
            code = error_code(error)
            message = error.response.get("Error", {}).get("Message", "")
            if code in _PAUSED or "daily message quota" in message.lower():
                raise Paused(f"{code}: {message}") from error
            if code in _RETRYABLE:
                raise Throttled(code) from error
            if (
                code in _UNSURE
                or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
            ):
                raise Unsure(code) from error
            raise Rejected(f"{code}: {message}") from error

    def quota(self) -> SendQuota:
        cached = self._quota
        if cached is not None and time.monotonic() - cached[0] < QUOTA_SECONDS:
            return cached[1]
        # SES v1's GetSendQuota: the same account quota v2 sends under.
        found = client("ses").get_send_quota()
        rate, day = self._limits
        quota = SendQuota(
            max_send_rate=rate or float(found["MaxSendRate"]),
            max_24_hour_send=day or float(found["Max24HourSend"]),
            sent_last_24_hours=float(found["SentLast24Hours"]),
        )
        self._quota = (time.monotonic(), quota)
        return quota

    def sender_verified(self, address: str) -> bool:
        domain = address.rsplit("@", 1)[-1]
        for identity in (address, domain):
            try:
                found = client("sesv2").get_email_identity(EmailIdentity=identity)
            except ClientError as error:
                if error_code(error) == "NotFoundException":
                    continue
                raise
            if found.get("VerifiedForSendingStatus"):
                return True
        return False
