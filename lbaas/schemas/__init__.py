"""Request and response schemas (pydantic), one family per resource, in Octavia's envelopes."""
