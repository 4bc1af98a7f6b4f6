"""citybase: the base platform of a city's urban digital public infrastructure (数公基)."""

__version__ = "0.1.0"
