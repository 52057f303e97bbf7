"""Text to AST: the Lark parser for the DSL and the YAML loader that keeps positions."""
