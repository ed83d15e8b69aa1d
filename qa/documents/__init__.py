"""Documents: files in (any Chinese encoding, .docx, .pdf, .html) -> Document and Chunk, the corpus folder."""
