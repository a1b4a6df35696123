"""The one error type of the evaluation package."""
from studio.errors import UserError


class EvaluationError(UserError):
    """Something the user can fix: a missing evaluator or Inception network, a dataset with no test
    split here, a file that is not a generator. The message says what is wrong and how to fix it."""
