"""rulesengine: options trading rules as text, compiled to one vectorised evaluation graph."""

__version__ = "0.1.0"

import logging

# A library logs; the application decides where logs go (`rules` prints alerts itself).
logging.getLogger(__name__).addHandler(logging.NullHandler())
