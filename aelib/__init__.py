"""aelib: the code behind the autoencoder notebooks.

Modules, from the bottom up (each imports only those listed before it):

- ``data``, ``download``: the bundled MNIST subset, toy manifolds, full data sets for users online
- ``likelihood``, ``dimensionality``: the mathematics of notebooks 01 and 02
- ``manifold``, ``models``: manifold learning helpers; encoders, decoders, AE and VAE
- ``training``, ``evaluation``, ``zoo``: fitting with a cache of trained models; measuring
  them; the AE/VAE pair that notebooks 05 and 06 share
- ``plotting``, ``widgets``: the only modules that import matplotlib or ipywidgets

Import what you need by name, for example ``from aelib import data, likelihood``.
"""

from aelib.runtime import configure_threads, seed_everything

__version__ = "0.1.0"
__all__ = ["configure_threads", "seed_everything", "__version__"]
