"""Transport: the HTTP body of a SOAP request, plain or MTOM (multipart/related with XOP parts)."""
