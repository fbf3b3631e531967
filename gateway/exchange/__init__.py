"""The SMEV message exchange: one module per operation (its stages in order as ``OPERATION``),
what is delivered, and the attachments."""
