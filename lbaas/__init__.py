"""lbaas: Load Balancing as a Service for private clouds, speaking the Octavia v2 API."""

__version__ = "0.1.0"
