"""Modelled systems, one plugin per package (see :mod:`twinworld.systems.base`)."""
