"""Reading codes off packages: images to code text, code text to identifiers (no Flask)."""
