"""Fine-tuning: a run that starts from exported weights (``init_from``) instead of the seed's random
ones, the way StyleGAN2-ADA's and FreezeD's transfer learning adapts a trained GAN to a small set of
new images; with ``freeze_d`` (FreezeD, Mo et al. 2020) the discriminator's first layers keep the
weights it came with. ``init_from`` reads the weights files; ``freeze`` says what a layer of D is."""
