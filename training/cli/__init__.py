"""The command lines of ``python -m training`` (main dispatches to train, resume, export, evaluate, timelapse,
train-encoder and the sweep's and playground's own commands). Torch loads only in the commands that need it."""
