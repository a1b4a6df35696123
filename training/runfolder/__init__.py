"""The torch-free layer of training, the only part of it the app imports: a run folder's files and
status (folder, files), who holds its lock (lock), what its metrics say about its health (health, health_log,
remedies) and its samples as an animation (timelapse). tests/test_architecture.py keeps torch out."""
