"""Market data in: the normalised option-chain columns and one small adapter per file format."""
