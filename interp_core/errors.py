"""User-facing errors: one clear sentence, shown as-is in the UI and CLI (never a traceback)."""


class UserError(ValueError):
    """Bad input or an unavailable resource; the message is meant for the person who caused it."""


class ModelLoadError(UserError):
    """A model could not be found, fetched or loaded."""


class UnsupportedModelError(ModelLoadError):
    """The model's architecture family has no adapter."""


class Cancelled(Exception):
    """A long job was cancelled by its caller (stop button, rerun, navigation)."""
