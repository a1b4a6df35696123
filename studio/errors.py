"""The one user-error type: every package's errors that a user can fix derive from it.

A command line or the app tells "the input was wrong" (one clear line, exit status 2, a message
with the way out) from "this is a bug" (a traceback and a request to report it) by
``isinstance(error, UserError)``, never by names: a renamed class stays a user error.
"""


class UserError(Exception):
    """Something the user can fix; the message says what is wrong and how to fix it."""
