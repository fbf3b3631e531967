"""The HTTP edge: the WSGI app, MTOM/XOP, the REST history API, serving."""
