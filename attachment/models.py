"""Models of attachment: none yet; the issue that builds it adds them."""
