"""The API's routes, one router per concern: `info` (health, model) and `jobs`."""
