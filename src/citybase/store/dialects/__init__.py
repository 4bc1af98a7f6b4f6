"""The two database dialects; nothing outside ``store/`` imports them."""
