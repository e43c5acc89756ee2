"""HTTP routers, one per resource: queue, sync run, storage uploads, files."""
