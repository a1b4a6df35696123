"""Training data: the datasets as uint8 torch tensors (dataset) and the order a run reads them in (batches)."""
