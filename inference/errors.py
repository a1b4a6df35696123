"""The one error type of the inference package."""
from studio.errors import UserError


class InferenceError(UserError):
    """Anything that stops a GAN Studio generator from loading or running.

    The message always says what was wrong (and where), so an app or the CLI can show it
    as-is. onnxruntime's own exceptions never leave this package: they are turned into this.
    """
