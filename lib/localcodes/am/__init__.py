"""Activation maximisation (AM): images that drive one unit of a named layer as hard as possible.

Paper 001 (§2, §3.3) generated 100 images per unit of AlexNet's
conv5, fc6 and fc8 with Plug & Play generative networks (a deep generator trained on ImageNet supplies the image
prior) and showed them as 10 x 10 panels. That generator cannot be shipped here, so this package offers two
image priors, written in torch (:mod:`.parameterisation`): a **generator prior** — a PCA of the network's own
training images, whose latent codes the optimisation moves, optionally pulled back towards typical codes — and
**no data prior**, the scaled Fourier basis of the feature-visualisation literature.

Either way, every step warps each image at random and may add penalties (:mod:`.transforms`), every image starts
from its own random point, and an optional diversity penalty pushes the images of the same unit apart. What is
maximised — a unit's pre-activation, a filter's spatial maximum — is read from the network by
:mod:`.objectives`; :mod:`.render` optimises many units and images as one batch, and :mod:`.panels` turns the
images into panels (resumable, cached per batch).
"""

from .objectives import CONV_REDUCTIONS, unit_values
from .panels import grid_image, make_panels, panel_bytes, panel_png, save_grid
from .parameterisation import (
    COLOR_CORRELATION,
    PRIORS,
    FourierImage,
    GeneratorImage,
    LinearGenerator,
    fit_linear_generator,
)
from .render import AMConfig, AMResult, maximise, maximise_units, run_key, to_uint8
from .transforms import random_transform, total_variation

__all__ = [
    "AMConfig",
    "AMResult",
    "FourierImage",
    "LinearGenerator",
    "fit_linear_generator",
    "GeneratorImage",
    "PRIORS",
    "COLOR_CORRELATION",
    "CONV_REDUCTIONS",
    "random_transform",
    "total_variation",
    "maximise",
    "maximise_units",
    "run_key",
    "make_panels",
    "unit_values",
    "to_uint8",
    "grid_image",
    "panel_bytes",
    "panel_png",
    "save_grid",
]
