"""aelib: the code behind the autoencoder notebooks.

Modules, from the bottom up (each imports only those listed before it):

- ``paths``, ``runtime``, ``i18n``: where data and cached models live; seeding and threads; the
  Korean edition's figure text, read from gettext catalogues
- ``download``, ``data``: full data sets for users online; the bundled MNIST subset, toy manifolds
- ``likelihood``, ``dimensionality``: the mathematics of notebooks 01 and 02
- ``exercises``, ``models``, ``manifold``: the notebooks' checks; encoders, decoders, AE and VAE;
  manifold learning
- ``training``, ``evaluation``, ``zoo``: fitting with a cache of trained models; measuring
  them; the AE/VAE pair that notebooks 05 and 06 share
- ``plotting``, ``views``, ``widgets``: figures (matplotlib), the explorers' pictures as PNG
  bytes (matplotlib, Pillow) and the widgets around them (ipywidgets): the only modules that
  import those libraries, so everything below runs headless

Import what you need by name, for example ``from aelib import data, likelihood``.
"""

from aelib.runtime import configure_threads, seed_everything

__version__ = "0.1.0"
__all__ = ["configure_threads", "seed_everything", "__version__"]
