"""API services: logic behind the routes; they raise ``ApiError``s, never ``HTTPException``."""
