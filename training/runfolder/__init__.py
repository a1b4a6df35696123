"""The torch-free layer of training, the only part of it the app imports: a run folder's files and
status (folder, files), who holds its lock (lock), what its metrics say about its health (health, health_log,
remedies), its samples as an animation (timelapse), its rows as DataFrames (tables) and TensorBoard's copy of
them (tensorboard_log). tests/test_architecture.py keeps torch out."""
