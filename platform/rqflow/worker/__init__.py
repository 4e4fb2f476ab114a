"""What an RQ worker does with what it is handed: the life of an occurrence."""
