"""Options analytics: pricing and probabilities, vectorised over whole chains."""
