"""What differs per engine: the store's tables as another engine holds them."""
