"""The bundled drill scenarios."""
