"""The one exception type the training command turns into a one-line message.

Anything the user can fix (a missing dataset file, an unknown model name, a checkpoint that
belongs to another model, an image that does not fit) is raised as :class:`TrainingError` with a
message that names the problem; ``juanji train`` prints it on one line and exits non-zero, with
no traceback.
"""

from __future__ import annotations

__all__ = ["TrainingError", "one_line"]


class TrainingError(Exception):
    """A problem with the user's input, described in one line."""


def one_line(error: BaseException) -> str:
    """An exception's message folded onto one line (state_dict errors span several)."""
    text = str(error) or type(error).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
