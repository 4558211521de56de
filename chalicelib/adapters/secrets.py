"""Secrets Manager: a JSON secret read once per container, and again every few minutes
(so a rotated key or a changed Zoom credential arrives without a deployment).

The Zoom secrets are created empty and filled in by an operator: until then (no value
yet, or one that is not a JSON object) they read as ``{}``, Zoom not configured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.ports import SigningKeys

if TYPE_CHECKING:
    from chalicelib.signed_links import Keys


class SecretRing:
    def __init__(self, secret_id: str, max_age_seconds: int = 300, optional: bool = False) -> None:
        self.secret_id = secret_id
        self.max_age = max_age_seconds
        self.optional = optional
        self._provider: Any = None

    def value(self) -> dict[str, Any]:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            from chalicelib.adapters.aws import client

            self._provider = SecretsProvider(boto3_client=client("secretsmanager"))
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        from chalicelib.adapters.aws import error_code, unavailable

        try:
            value = self._provider.get(self.secret_id, transform="json", max_age=self.max_age)
        except TransformParameterError:  # not JSON
            if not self.optional:
                raise
            value = None
        except GetParameterError as error:
            # Powertools wraps every failure: Secrets Manager failing for a while is
            # told as itself (the callers answer it with a 503), anything else as is.
            cause = error.__context__
            if cause is not None and unavailable(cause):
                raise cause from None
            if not (self.optional and error_code(cause) == "ResourceNotFoundException"):
                raise
            value = None  # created empty: no value yet
        if isinstance(value, dict):
            return value
        if self.optional:  # not filled in yet, or not an object: not configured
            return {}
        raise ValueError(f"the secret {self.secret_id} is not a JSON object")


class SigningKeyRing(SigningKeys):
    """The link-signing keys, from their secret (``{"active": "k2", "k1": …, "k2": …}``)."""

    def __init__(self, secret_id: str) -> None:
        self._secret = SecretRing(secret_id)

    def keys(self) -> Keys:
        from chalicelib.signed_links import Keys

        return Keys.from_secret(self._secret.value())
