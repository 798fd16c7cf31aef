"""Exceptions the tool raises on purpose. The CLI turns them into one-line messages."""

from __future__ import annotations


class EmergenceError(Exception):
    """Base class: an error the user can act on. Its message is one line, saying what and the fix."""

    exit_code: int = 2


class InputError(EmergenceError):
    """Bad input: a file, a column, a value, a config key. The message names where and the fix."""


class NotIdentifiableError(EmergenceError):
    """The data cannot determine the law's parameters; the message says what data to add."""

    exit_code = 3


class ConfigError(InputError):
    """A study config key is missing or invalid; the message names the key and the fix."""
