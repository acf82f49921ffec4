"""Business tables kept as data (R8), shipped as package data next to the code that reads them."""
