"""Errors that reach the user as one line (exit code 2), never as a traceback."""


class UserError(Exception):
    """Bad input or a missing dependency: the message says what is wrong and what to do."""
