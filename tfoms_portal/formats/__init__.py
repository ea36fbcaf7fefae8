"""Domain-free, hardened codecs for the wire formats (DBF, CSV, XML, ZIP). No ORM here."""
