"""The one error diffbench reports to a user rather than to a developer."""


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""
