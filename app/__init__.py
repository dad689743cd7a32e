"""casetrack: an HTTP JSON API for documenting legal cases brought against people."""
