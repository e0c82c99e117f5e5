"""The `poisonbench` command line: composes harness, sandbox and service; holds no logic the API also needs."""


class CommandError(Exception):
    """A user-facing failure: printed as one line naming what to fix, exit status 2."""
