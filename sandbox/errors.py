"""Errors of the sandbox that reach the user as one line."""


class SandboxError(Exception):
    """The sandbox cannot run at all (engine down, image missing, bad input); the message says what to do."""
