"""The one error type users see for bad configuration or catalog data."""

import pulumi


class ConfigError(pulumi.RunError):
    """Invalid stack config or catalog data, raised before any resource is declared.

    A `pulumi.RunError` is printed by the engine as its message alone, without a Python traceback.
    """
