"""Models of prophylaxis: none yet; the issue that builds it adds them."""
