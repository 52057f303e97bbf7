"""rulesengine: options trading rules as text, compiled to one vectorised evaluation graph."""

__version__ = "0.1.0"
