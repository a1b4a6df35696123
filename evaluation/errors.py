"""The one error type of the evaluation package."""


class EvaluationError(Exception):
    """Something the user can fix: a missing evaluator or Inception network, a dataset with no test
    split here, a file that is not a generator. The message says what is wrong and how to fix it."""
