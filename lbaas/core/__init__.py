"""The domain core: errors, the request context, statuses, roles and the registry of resource
kinds. Imports nothing else of lbaas; every other package may import it."""
