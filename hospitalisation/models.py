"""Models of hospitalisation: none yet; the issue that builds it adds them."""
