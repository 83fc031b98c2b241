"""Errors that end a command with a one-line message instead of a traceback."""


class BrokerstackError(Exception):
    """An operator-facing failure; ``str(exc)`` is the whole message."""


class ConfigError(BrokerstackError):
    """A setting is malformed or points at something unusable."""


class ServiceError(BrokerstackError):
    """A service could not be started or reached."""
