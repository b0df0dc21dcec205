"""The one error type users see for bad configuration or catalog data, and the error that names its key."""

from typing import Any

import pulumi


class ConfigError(pulumi.RunError):
    """Invalid stack config or catalog data, raised before any resource is declared.

    A `pulumi.RunError` is printed by the engine as its message alone, without a Python traceback.
    """


class InvalidKeyError(ValueError):
    """A value is wrong because of a config key that a check of several keys (or a look-up) can name.

    Validators and look-ups raise it; the config reader turns it into a `ConfigError` line that names
    the stack, this key, its value and the message.
    """

    def __init__(self, key: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.key, self.value, self.message = key, value, message
