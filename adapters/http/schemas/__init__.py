"""Request and response bodies: msgspec structs whose constraints become the OpenAPI schema."""
