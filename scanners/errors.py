"""The one error type of :mod:`scanners`: what was wrong with a code or an image, and where."""

from __future__ import annotations

__all__ = ["CodeError"]


class CodeError(ValueError):
    """A code or image that cannot be read: ``code`` is a stable, dotted error code
    (``code.check_digit``, ``image.too_large``…), ``message`` says what is wrong in words a
    person can act on, and ``field`` names the input it concerns (``code``, ``image``, or an
    Application Identifier such as ``ai.17``)."""

    def __init__(self, code: str, message: str, field: str = "code") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
