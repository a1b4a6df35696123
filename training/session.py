"""The parts a run trains with, built from its config: ``build_session`` turns a ``Config`` into a
``Session`` (the data on its device, G and D and the forms they train through, the loss, the
optimisers and their gradient scalers, the EMA, DiffAugment, the rate schedule, the batch order,
the precision), and a Session draws the batches of a step.

Building seeds torch's RNG twice, always in this order: with ``seed`` just before the nets are
made (every process starts from the same weights), then with ``seed + 1 + rank`` once everything
is built (each process draws its own noise). A run built twice from one config therefore starts
from the same weights and draws the same noise; checkpoints depend on that.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from training.augment import DiffAugment, build_augment
from training.config import Config
from training.data.batches import BatchOrder
from training.data.clusters import cluster_proportions
from training.data.dataset import ImageDataset, load_for_config, normalize
from training.distributed import Processes, pick_device, wrap
from training.ema import EMA, ema_decay
from training.finetune.freeze import freeze_discriminator
from training.finetune.init_from import load_into
from training.latents import sample_latents
from training.losses import GANLoss, build_loss
from training.lr_schedule import RateSchedule
from training.models import build_models
from training.precision import Precision, allow_tf32, choose
from training.preflight import check_data

Batch = tuple[torch.Tensor, torch.Tensor | None]  # images and their labels (None: unconditional)


@dataclass
class Session:
    config: Config
    processes: Processes
    device: torch.device
    precision: Precision
    channels_last: bool  # G, D and the real batches in NHWC (see channels_last_helps)
    data: ImageDataset  # as loaded, on the CPU: its name and class names go into checkpoints
    images: torch.Tensor  # the data's uint8 images on ``device``
    labels: torch.Tensor
    num_classes: int  # 0 for an unconditional run, whatever the data's labels
    G: nn.Module
    D: nn.Module
    G_train: nn.Module  # what the forward passes go through: DDP around G with several processes, else G
    D_train: nn.Module
    loss: GANLoss
    ema: EMA | None
    augment: DiffAugment  # on all D sees; the identity when off
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler_g: torch.amp.GradScaler | None  # fp16 only
    scaler_d: torch.amp.GradScaler | None
    rates: RateSchedule
    order: BatchOrder

    @property
    def class_names(self) -> list[str]:
        return list(self.data.class_names) if self.num_classes else []

    @property
    def class_prior(self) -> list[float] | None:
        """How often each class is drawn when the model is sampled: the clusters' shares of the
        images under ``clusters`` (a cluster is not asked for, as a label is); None otherwise."""
        return cluster_proportions(self.data.labels, self.num_classes) if self.config.clusters else None

    def real_batch(self) -> Batch:
        """The next batch of the data order, in the generator's output range."""
        indices = self.order.next().to(self.device)
        real = normalize(self.images[indices], self.G.output_range)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real, (self.labels[indices] if self.num_classes else None)

    def fake_batch(self, n: int) -> Batch:
        """``n`` generated images from fresh latents (and random classes when conditional)."""
        labels = torch.randint(0, self.num_classes, (n,), device=self.device) if self.num_classes else None
        return self.G_train(sample_latents(self.config, n, self.device), labels), labels


def channels_last_helps(device: torch.device, discriminator: nn.Module) -> bool:
    """NHWC lets cuDNN's tensor-core convolutions skip layout transposes; on CPUs it measured no gain."""
    return device.type == "cuda" and any(isinstance(m, nn.Conv2d) for m in discriminator.modules())


def optimizer_for(config: Config, module: nn.Module, lr: float, frozen: set[int] = frozenset()) -> torch.optim.Optimizer:
    """The config's optimiser over ``module``'s parameters but the ``frozen`` ones (their ids)."""
    parameters = [p for p in module.parameters() if id(p) not in frozen]
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr)
    return torch.optim.Adam(parameters, lr=lr, betas=(config.beta1, config.beta2))


def build_session(config: Config, processes: Processes = Processes(), device: torch.device | None = None,
                  dataset: ImageDataset | None = None, load_init_from: bool = True) -> Session:
    """Everything ``config`` trains with, on ``device`` (default: the config's choice); ``dataset``
    replaces the config's dataset (tests, benchmarks and sweeps load theirs once). ``load_init_from``
    False leaves ``init_from``'s files unread: a resumed run's checkpoint brings the weights."""
    c = config
    device = device or pick_device(c.device)
    if c.deterministic:
        torch.use_deterministic_algorithms(True)
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    precision = choose(c.precision, device)
    if precision.mixed:
        allow_tf32(device)

    data = dataset or load_for_config(c, "train")
    num_classes = len(data.class_names) if c.conditional else 0
    check_data(c, data, processes.world_size)

    torch.manual_seed(c.seed)  # the same initial weights on every process
    models = build_models(c, num_classes)
    G, D = models.generator.to(device), models.discriminator.to(device)
    if c.init_from and load_init_from:  # fine-tuning: before the EMA copies G and the optimisers see the nets
        load_into(c, G, D)
    frozen = freeze_discriminator(D, c)  # FreezeD; on resume too, where the checkpoint brought the weights
    channels_last = channels_last_helps(device, D)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    loss = build_loss(c)
    loss.check_models(D)
    ema = EMA(G, ema_decay(c, processes.world_size), c.ema_start) if c.ema else None
    opt_g, opt_d = optimizer_for(c, G, c.lr_g), optimizer_for(c, D, c.lr_d, frozen)
    session = Session(
        config=c, processes=processes, device=device, precision=precision, channels_last=channels_last,
        data=data, images=data.images.to(device), labels=data.labels.to(device), num_classes=num_classes,
        G=G, D=D, G_train=wrap(G, processes, device), D_train=wrap(D, processes, device), loss=loss, ema=ema,
        augment=build_augment(c, G.output_range), opt_g=opt_g, opt_d=opt_d,
        scaler_g=precision.scaler(), scaler_d=precision.scaler(),
        rates=RateSchedule(c, {"lr_g": (opt_g, c.lr_g), "lr_d": (opt_d, c.lr_d)}),
        order=BatchOrder(len(data.images), c.batch_size, c.seed, processes))
    torch.manual_seed(c.seed + 1 + processes.rank)  # each process draws its own noise
    return session
