"""The HTTP layer: thin routes over :class:`registry.service.Registry`."""
