"""Errors a user can fix: the CLI prints them as one paragraph instead of a traceback."""


class UserInputError(Exception):
    """Bad input from the user (a path, a file, a parameter), with what was expected.

    The message names the offending path or value, says what was expected and, where
    there is one, the fix. ``python -m analysis`` prints it and exits with status 2.
    """


class NotFittedError(ValueError, AttributeError):
    """A fitted object (an ensemble, a calibration map) was used before ``fit``; as in
    scikit-learn, it is both a ValueError and an AttributeError."""
