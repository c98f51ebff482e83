"""The console pages, one router per area (sign-in, overview, exceptions, ...)."""
