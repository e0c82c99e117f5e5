"""The API's routes, one module per resource; each route is thin over db.queries and api.intake."""
