"""AST to typed program plus Diagnostics: scopes, names, types, units, contradictions."""
