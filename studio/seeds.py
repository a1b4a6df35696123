"""The one range of seeds every part of GAN Studio takes: 0 to 2**53 - 1.

A seed names latents in the contract's philox scheme (inference/philox.py), which the browser and
Node implement too: JavaScript holds integers exactly only up to 2**53 - 1, so a larger seed could
not be typed into every runtime that reproduces a model's images. Training, the encoder, sweeps and
evaluation take the same range, so a run's seed always names its grid in any viewer, and
torch's generators (which take up to 2**64 - 1) have room for the offsets training adds.
"""

MAX_SEED = 2**53 - 1
SEED_RANGE = "seeds run from 0 to 2**53 - 1, the largest integer every runtime (Python, the browser, Node) holds exactly"
