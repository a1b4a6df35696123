"""The networks trained beside a GAN: the evaluator CNN whose features the metrics use (evaluator_net,
train_evaluator) and the projection encoder, image -> latent (encoder)."""
