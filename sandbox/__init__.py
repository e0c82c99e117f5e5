"""The trust boundary: the confined loss process, the trainer's proxy that talks to it, and upfront `check`.

Only this package's exception lives here, so importing it costs nothing (the API imports no torch).
"""


class SandboxUnavailableError(Exception):
    """The sandbox could not start: the machine's fault, never the submission's; the message says the fix."""
