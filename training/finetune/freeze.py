"""FreezeD (Mo et al. 2020): the discriminator's first N layers keep the weights a fine-tuning run
started from, while the rest of D and all of G learn.

A layer is one convolution or linear layer of D, in the order D's forward pass runs them (found
by running it once on a blank batch), with the batch norms that run after it and before the next
layer: per architecture, DCGAN's stride-2 convolution blocks then its dense logit, the Keras DCGAN's
two convolutions then its dense layer, SNGAN's spectral-norm convolutions one by one, the ResNet's
convolutions as its residual blocks run them (shortcuts included), the MLPs' linear layers, and
FastGAN's down-sampling convolutions. A class embedding (the projection term) is no layer: it
keeps learning. At least one layer must stay free.

A frozen parameter is kept from learning twice over: ``requires_grad`` is off (no gradient is
computed for it) and the optimiser never holds it.
"""
from __future__ import annotations

import torch
from torch import nn

from training.config import Config, ConfigError

LAYERS = (nn.Conv2d, nn.Linear)
NORMS = (nn.modules.batchnorm._BatchNorm,)


def discriminator_layers(discriminator: nn.Module, config: Config) -> list[list[nn.Module]]:
    """D's layers in the order its forward pass runs them, each with the norms after it."""
    calls: list[nn.Module] = []

    def seen(module, args) -> None:
        if module not in calls:
            calls.append(module)

    handles = [m.register_forward_pre_hook(seen) for m in discriminator.modules() if isinstance(m, LAYERS + NORMS)]
    parameter = next(discriminator.parameters())
    n = 2 * config.pack  # a packed D wants whole packs; a batch norm in eval mode takes any batch
    images = torch.zeros(n, config.channels, config.image_size, config.image_size, device=parameter.device)
    labels = torch.zeros(n, dtype=torch.long, device=parameter.device) if config.conditional else None
    was_training = discriminator.training
    try:
        discriminator.eval()
        with torch.no_grad():
            discriminator(images, labels)
    finally:
        discriminator.train(was_training)
        for handle in handles:
            handle.remove()
    layers: list[list[nn.Module]] = []
    for module in calls:
        if isinstance(module, LAYERS):
            layers.append([module])
        elif layers:  # a norm before any layer belongs to none: it keeps learning
            layers[-1].append(module)
    return layers


def freeze_discriminator(discriminator: nn.Module, config: Config) -> set[int]:
    """Freeze D's first ``config.freeze_d`` layers; returns the ids of the frozen parameters."""
    if not config.freeze_d:
        return set()
    layers = discriminator_layers(discriminator, config)
    if config.freeze_d >= len(layers):
        names = ", ".join(type(layer[0]).__name__ for layer in layers)
        raise ConfigError(f"freeze_d={config.freeze_d}: the {config.model} discriminator has {len(layers)} layers "
                          f"({names}), and at least one must learn; set freeze_d to at most {len(layers) - 1}.")
    frozen = set()
    for layer in layers[:config.freeze_d]:
        for module in layer:
            for parameter in module.parameters():
                parameter.requires_grad_(False)
                frozen.add(id(parameter))
    return frozen
