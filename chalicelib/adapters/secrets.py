"""Secrets Manager: a JSON secret read once per container, and again every few minutes
(so a rotated key or a changed Zoom credential arrives without a deployment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.ports import SigningKeys

if TYPE_CHECKING:
    from chalicelib.signed_links import Keys


class SecretRing:
    def __init__(self, secret_id: str, max_age_seconds: int = 300) -> None:
        self.secret_id = secret_id
        self.max_age = max_age_seconds
        self._provider: Any = None

    def value(self) -> dict[str, Any]:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            from chalicelib.adapters.aws import client

            self._provider = SecretsProvider(boto3_client=client("secretsmanager"))
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        from chalicelib.adapters.aws import unavailable

        try:
            return self._provider.get(self.secret_id, transform="json", max_age=self.max_age)
        except GetParameterError as error:
            # Powertools wraps every failure: Secrets Manager failing for a while is
            # told as itself (the callers answer it with a 503), anything else as is.
            cause = error.__context__
            if cause is not None and unavailable(cause):
                raise cause from None
            raise


class SigningKeyRing(SigningKeys):
    """The link-signing keys, from their secret (``{"active": "k2", "k1": …, "k2": …}``)."""

    def __init__(self, secret_id: str) -> None:
        self._secret = SecretRing(secret_id)

    def keys(self) -> Keys:
        from chalicelib.signed_links import Keys

        return Keys.from_secret(self._secret.value())
