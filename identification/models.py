"""Models of identification: none yet; the issue that builds it adds them."""
