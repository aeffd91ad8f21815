"""ciblage: rank French establishments by hiring potential per territory and ROME trade."""

__version__ = "0.1.0"
