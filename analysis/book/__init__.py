"""The book: the build driver, figures, glued outputs, provenance and the browser check."""
