"""SES (v2 API): raw MIME sends through the configuration set, and identity checks."""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import client, error_code
from chalicelib.ports import Mailer, Rejected, Throttled

# Errors after which the same send can succeed later.
_RETRYABLE = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "LimitExceededException",
        "SendingPausedException",
        "ServiceUnavailable",
        "InternalFailure",
    }
)


class SesMailer(Mailer):
    def __init__(self, configuration_set: str | None) -> None:
        self.configuration_set = configuration_set

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
        except ClientError as error:
            code = error_code(error)
            if (
                code in _RETRYABLE
                or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
            ):
                raise Throttled(code) from error
            raise Rejected(
                f"{code}: {error.response.get('Error', {}).get('Message', '')}"
            ) from error

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
